package io.vigil.client;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;

/** The SDK's JSON: Jackson, lenient about fields a newer server adds. */
final class ApiJson {

  static final ObjectMapper MAPPER =
      JsonMapper.builder()
          .addModule(new JavaTimeModule())
          .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
          .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS)
          .defaultPropertyInclusion(
              JsonInclude.Value.construct(
                  JsonInclude.Include.NON_NULL, JsonInclude.Include.NON_NULL))
          .build();

  private ApiJson() {}

  static byte[] write(Object value) {
    try {
      return MAPPER.writeValueAsBytes(value);
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException("cannot be written as JSON: " + value, e);
    }
  }

  static <T> T read(String body, Class<T> type) {
    try {
      return MAPPER.readValue(body, type);
    } catch (JsonProcessingException e) {
      throw new VigilException(
          0, "invalid_response", "The management server's answer is not the JSON expected.", e);
    }
  }

  static JsonNode tree(String body) {
    if (body == null || body.isBlank()) {
      return MAPPER.missingNode();
    }
    try {
      return MAPPER.readTree(body);
    } catch (JsonProcessingException e) {
      return MAPPER.missingNode();
    }
  }

  /** The {@code code} of Vigil's error body (or {@code error} of an OAuth one), else null. */
  static String errorCode(String body) {
    JsonNode tree = tree(body);
    String code = tree.path("code").asText(null);
    return code != null ? code : tree.path("error").asText(null);
  }

  /** The readable message of an error body, else {@code fallback}. */
  static String errorMessage(String body, String fallback) {
    JsonNode tree = tree(body);
    String message = tree.path("message").asText(null);
    if (message == null) {
      message = tree.path("error_description").asText(null);
    }
    return message == null ? fallback : message;
  }
}
