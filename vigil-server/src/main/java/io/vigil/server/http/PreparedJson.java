package io.vigil.server.http;

import com.fasterxml.jackson.core.JsonProcessingException;
import io.javalin.http.ContentType;
import io.javalin.http.Context;

/**
 * A JSON answer written once, to be sent as it is to every caller allowed to read it: its bytes, as
 * {@code ctx.json} would write them, and their ETag, as {@link ConditionalGet} would compute it.
 */
public final class PreparedJson {

  private final byte[] bytes;
  private final String etag;

  private PreparedJson(byte[] bytes) {
    this.bytes = bytes;
    this.etag = ConditionalGet.etagOf(bytes);
  }

  /** {@code value} written as the API writes JSON ({@link Json#MAPPER}). */
  public static PreparedJson of(Object value) {
    try {
      return new PreparedJson(Json.MAPPER.writeValueAsBytes(value));
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("cannot write " + value.getClass().getSimpleName(), e);
    }
  }

  /** The answer's ETag, a hash of its bytes. */
  public String etag() {
    return etag;
  }

  /** The answer's size in bytes. */
  public int size() {
    return bytes.length;
  }

  /** Sends it as the answer: 200 with its ETag, or 304 when If-None-Match names the ETag. */
  public void send(Context ctx) {
    ctx.header("ETag", etag);
    ctx.attribute(ConditionalGet.BODY_ETAG, true);
    // The bytes are never changed: every answer reads the same array.
    ctx.contentType(ContentType.APPLICATION_JSON).result(bytes);
  }
}
