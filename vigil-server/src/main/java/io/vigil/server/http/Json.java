package io.vigil.server.http;

import com.fasterxml.jackson.core.JsonParseException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.MapperFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.cfg.CoercionAction;
import com.fasterxml.jackson.databind.cfg.CoercionInputShape;
import com.fasterxml.jackson.databind.exc.InvalidFormatException;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.databind.exc.ValueInstantiationException;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.type.LogicalType;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import io.javalin.http.Context;
import java.io.IOException;
import java.util.stream.Collectors;

/**
 * The API's JSON: strict on input (unknown fields, wrong types and trailing garbage are errors, no
 * string-to-number coercion), ISO-8601 instants on output.
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
    return mapper;
  }

  /**
   * Reads the request body as {@code type}.
   *
   * @throws ApiException 400 {@code malformed_json}, {@code unknown_field}, {@code wrong_type} or
   *     {@code invalid_value}, 415 when the body is not JSON
   */
  public static <T> T body(Context ctx, Class<T> type) {
    String contentType = ctx.contentType();
    if (contentType == null || !contentType.toLowerCase().startsWith("application/json")) {
      throw new ApiException(
          415,
          "unsupported_media_type",
          "The request body must be JSON: send Content-Type: application/json.");
    }
    byte[] body = ctx.bodyAsBytes();
    if (body.length == 0) {
      throw ApiException.badRequest(
          "malformed_json", "The request body is empty; send a JSON object.");
    }
    return parse(body, type);
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
              + e.getPropertyName()
              + "\". Known fields: "
              + e.getKnownPropertyIds().stream()
                  .map(Object::toString)
                  .sorted()
                  .collect(Collectors.joining(", "))
              + ".");
    } catch (ValueInstantiationException e) {
      Throwable cause = e.getCause() != null ? e.getCause() : e;
      if (cause instanceof ApiException api) {
        throw api;
      }
      throw ApiException.badRequest("invalid_value", cause.getMessage());
    } catch (InvalidFormatException e) {
      throw ApiException.badRequest(
          "wrong_type",
          "Field \"" + path(e) + "\" has the wrong type or format: " + e.getOriginalMessage());
    } catch (MismatchedInputException e) {
      if (e.getOriginalMessage() != null && e.getOriginalMessage().startsWith("Trailing token")) {
        throw ApiException.badRequest(
            "malformed_json",
            "The request body has content after the JSON value; send one JSON object.");
      }
      throw ApiException.badRequest(
          "wrong_type",
          "Field \""
              + path(e)
              + "\" has the wrong type: expected "
              + (e.getTargetType() == null ? "another type" : e.getTargetType().getSimpleName())
              + ".");
    } catch (JsonParseException e) {
      throw ApiException.badRequest(
          "malformed_json",
          "The request body is not valid JSON (line "
              + e.getLocation().getLineNr()
              + ", column "
              + e.getLocation().getColumnNr()
              + "): "
              + e.getOriginalMessage());
    } catch (JsonMappingException e) {
      throw ApiException.badRequest(
          "malformed_json", "The request body is not valid: " + e.getOriginalMessage());
    } catch (IOException e) {
      throw ApiException.badRequest("malformed_json", "The request body cannot be read.");
    }
  }

  private static String path(JsonMappingException e) {
    String p =
        e.getPath().stream()
            .map(r -> r.getFieldName() != null ? r.getFieldName() : "[" + r.getIndex() + "]")
            .collect(Collectors.joining("."));
    return p.isEmpty() ? "(body)" : p;
  }
}
