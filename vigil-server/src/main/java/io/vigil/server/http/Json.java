package io.vigil.server.http;

import com.fasterxml.jackson.core.JsonParseException;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationContext;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.MapperFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.cfg.CoercionAction;
import com.fasterxml.jackson.databind.cfg.CoercionInputShape;
import com.fasterxml.jackson.databind.deser.std.StdScalarDeserializer;
import com.fasterxml.jackson.databind.deser.std.StringDeserializer;
import com.fasterxml.jackson.databind.exc.InvalidFormatException;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.databind.exc.ValueInstantiationException;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.module.SimpleModule;
import com.fasterxml.jackson.databind.type.LogicalType;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import io.javalin.http.Context;
import java.io.IOException;
import java.time.temporal.Temporal;
import java.util.Collection;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;
import java.util.stream.Collectors;

/**
 * The API's JSON: strict on input (unknown fields, a field given twice, wrong types and trailing
 * garbage are errors, no string-to-number coercion, strings must be text: no NUL, no half of a
 * surrogate pair), ISO-8601 instants on output. Error messages describe what was expected in the
 * API's own words and never name a Java type.
 */
public final class Json {

  public static final ObjectMapper MAPPER = createMapper();

  private Json() {}

  private static ObjectMapper createMapper() {
    ObjectMapper mapper =
        JsonMapper.builder()
            .addModule(new JavaTimeModule())
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .enable(DeserializationFeature.FAIL_ON_READING_DUP_TREE_KEY)
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .disable(MapperFeature.ALLOW_COERCION_OF_SCALARS)
            .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS)
            .build();
    for (LogicalType type :
        new LogicalType[] {LogicalType.Integer, LogicalType.Float, LogicalType.Boolean}) {
      mapper
          .coercionConfigFor(type)
          .setCoercion(CoercionInputShape.String, CoercionAction.Fail)
          .setCoercion(CoercionInputShape.Float, CoercionAction.Fail);
    }
    mapper
        .coercionConfigFor(LogicalType.Textual)
        .setCoercion(CoercionInputShape.Integer, CoercionAction.Fail)
        .setCoercion(CoercionInputShape.Float, CoercionAction.Fail)
        .setCoercion(CoercionInputShape.Boolean, CoercionAction.Fail);
    mapper.registerModule(new SimpleModule().addDeserializer(String.class, new TextDeserializer()));
    return mapper;
  }

  /** Jackson's own string reading, then {@link Text#notText}. */
  private static final class TextDeserializer extends StdScalarDeserializer<String> {
    TextDeserializer() {
      super(String.class);
    }

    @Override
    public String deserialize(JsonParser p, DeserializationContext ctxt) throws IOException {
      String value = StringDeserializer.instance.deserialize(p, ctxt);
      String problem = value == null ? null : Text.notText(value);
      if (problem != null) {
        throw new NotText(p, problem);
      }
      return value;
    }
  }

  /** A string in a body that is not text. */
  private static final class NotText extends JsonMappingException {
    NotText(JsonParser p, String problem) {
      super(p, problem);
    }
  }

  /**
   * Reads the request body as {@code type}.
   *
   * @throws ApiException 400 {@code malformed_json}, {@code unknown_field}, {@code wrong_type} or
   *     {@code invalid_value}, 415 when the body is not JSON
   */
  public static <T> T body(Context ctx, Class<T> type) {
    requireJson(ctx.contentType());
    byte[] body = ctx.bodyAsBytes();
    if (body.length == 0) {
      throw ApiException.badRequest(
          "malformed_json", "The request body is empty; send a JSON object.");
    }
    return parse(body, type);
  }

  /**
   * Accepts {@code application/json}, optionally with {@code charset=utf-8} (RFC 8259 allows no
   * other encoding), in any case; anything else, {@code application/jsonx} or a second parameter
   * included, is 415.
   */
  static void requireJson(String contentType) {
    if (contentType == null) {
      throw new ApiException(
          415,
          "unsupported_media_type",
          "The request body must be JSON: send Content-Type: application/json.");
    }
    String[] parts = contentType.split(";", -1);
    boolean json = parts[0].strip().equalsIgnoreCase("application/json");
    boolean parameters = true;
    for (int i = 1; i < parts.length; i++) {
      String parameter = parts[i].strip().toLowerCase(Locale.ROOT).replace(" ", "");
      parameters &=
          i == 1 && (parameter.equals("charset=utf-8") || parameter.equals("charset=\"utf-8\""));
    }
    if (!json || !parameters) {
      throw new ApiException(
          415,
          "unsupported_media_type",
          "Content-Type "
              + Text.excerpt(contentType)
              + " is not accepted: send Content-Type: application/json (UTF-8, optionally with"
              + " charset=utf-8).");
    }
  }

  public static <T> T parse(byte[] body, Class<T> type) {
    try {
      T value = MAPPER.readValue(body, type);
      if (value == null) {
        throw ApiException.badRequest(
            "malformed_json", "The request body is null; send a JSON object.");
      }
      return value;
    } catch (UnrecognizedPropertyException e) {
      throw ApiException.badRequest(
          "unknown_field",
          "Unknown field \""
              + Text.excerpt(e.getPropertyName())
              + "\". Known fields: "
              + e.getKnownPropertyIds().stream()
                  .map(Object::toString)
                  .sorted()
                  .collect(Collectors.joining(", "))
              + ".");
    } catch (NotText e) {
      throw ApiException.badRequest(
          "invalid_text", "Field \"" + path(e) + "\" " + e.getOriginalMessage() + ".");
    } catch (ValueInstantiationException e) {
      Throwable cause = e.getCause() != null ? e.getCause() : e;
      if (cause instanceof ApiException api) {
        throw api;
      }
      throw ApiException.badRequest(
          "invalid_value",
          cause instanceof IllegalArgumentException && cause.getMessage() != null
              ? cause.getMessage()
              : "The request body's values are invalid for this operation.");
    } catch (InvalidFormatException e) {
      throw ApiException.badRequest(
          "wrong_type",
          "Field \"" + path(e) + "\" has the wrong type or format: expected " + expected(e) + ".");
    } catch (MismatchedInputException e) {
      if (e.getOriginalMessage() != null && e.getOriginalMessage().startsWith("Trailing token")) {
        throw ApiException.badRequest(
            "malformed_json",
            "The request body has content after the JSON value; send one JSON object.");
      }
      throw ApiException.badRequest(
          "wrong_type",
          "Field \"" + path(e) + "\" has the wrong type: expected " + expected(e) + ".");
    } catch (JsonParseException e) {
      String message = e.getOriginalMessage();
      if (message != null && message.startsWith("Duplicate field")) {
        throw ApiException.badRequest(
            "duplicate_field",
            "The request body gives field \""
                + Text.excerpt(message.substring("Duplicate field ".length()).replace("'", ""))
                + "\" more than once; give each field once.");
      }
      throw ApiException.badRequest(
          "malformed_json",
          "The request body is not valid JSON (line "
              + e.getLocation().getLineNr()
              + ", column "
              + e.getLocation().getColumnNr()
              + "): "
              + Text.excerpt(message == null ? "unexpected content" : message.split("\n")[0]));
    } catch (JsonMappingException e) {
      throw ApiException.badRequest(
          "malformed_json",
          "The request body does not have the shape this operation expects"
              + (e.getPath().isEmpty() ? "" : " at field \"" + path(e) + "\"")
              + "; see the API description (/api/v1/openapi.json).");
    } catch (IOException e) {
      throw ApiException.badRequest("malformed_json", "The request body cannot be read.");
    }
  }

  /** What a field of {@code e}'s target type looks like, in the API's words. */
  private static String expected(MismatchedInputException e) {
    Class<?> type = e.getTargetType();
    if (type == null) {
      return "another type";
    }
    if (type == String.class || CharSequence.class.isAssignableFrom(type)) {
      return "a string";
    }
    if (type == Integer.class
        || type == int.class
        || type == Long.class
        || type == long.class
        || type == Short.class
        || type == short.class) {
      return "a whole number";
    }
    if (Number.class.isAssignableFrom(type) || type == double.class || type == float.class) {
      return "a number";
    }
    if (type == Boolean.class || type == boolean.class) {
      return "true or false";
    }
    if (type == UUID.class) {
      return "an id (a UUID such as 0b6f4d1e-8c4a-4f5e-9a3b-2c1d0e9f8a7b)";
    }
    if (Temporal.class.isAssignableFrom(type)) {
      return "a time such as 2025-03-01T10:15:30Z";
    }
    if (type.isEnum()) {
      return "one of "
          + java.util.Arrays.stream(type.getEnumConstants())
              .map(c -> "\"" + ((Enum<?>) c).name() + "\"")
              .collect(Collectors.joining(", "));
    }
    if (type.isArray() || Collection.class.isAssignableFrom(type)) {
      return "an array";
    }
    if (Map.class.isAssignableFrom(type) || !type.isPrimitive()) {
      return "an object";
    }
    return "another type";
  }

  private static String path(JsonMappingException e) {
    String p =
        e.getPath().stream()
            .map(
                r ->
                    r.getFieldName() != null
                        ? Text.excerpt(r.getFieldName())
                        : "[" + r.getIndex() + "]")
            .collect(Collectors.joining("."));
    return p.isEmpty() ? "(body)" : p;
  }
}
