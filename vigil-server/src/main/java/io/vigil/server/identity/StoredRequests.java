package io.vigil.server.identity;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import io.vigil.server.http.Json;
import java.util.Map;

/**
 * An authorization request's parameters as the database keeps them while a sign-in is under way (an
 * external provider's round trip, a second factor): one JSON object of strings.
 */
public final class StoredRequests {

  private static final TypeReference<Map<String, String>> MAP = new TypeReference<>() {};

  private StoredRequests() {}

  public static String write(Map<String, String> values) {
    try {
      return Json.MAPPER.writeValueAsString(values);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  public static Map<String, String> read(String json) {
    try {
      return Json.MAPPER.readValue(json, MAP);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("A stored sign-in request is not valid JSON", e);
    }
  }
}
