package io.vigil.server.http;

import io.javalin.http.Context;
import io.javalin.http.HandlerType;
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Base64;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;

/**
 * Conditional reads for every {@code GET} under {@code /api/v1} (RFC 9110 8.8.3, 13.1.2): a 200
 * answer carries an {@code ETag} and {@code Cache-Control: private, no-cache}, and a request whose
 * {@code If-None-Match} names that ETag gets 304 with no body instead.
 *
 * <p>The ETag is the one the route set when it set one that names the whole answer ({@link
 * Requests#revisionEtag}, or {@link #BODY_ETAG} for an answer the route prepared itself), else a
 * hash of the answer's bytes: the caller has those bytes already, so the ETag tells it nothing new,
 * and since it is computed from what this caller was sent, a caller whose role shows it something
 * else never matches another's ETag. A revision a route set that does not name the whole answer
 * ({@link Requests#etag}: a server's revision, which its heartbeats do not move) is sent with that
 * hash after it, {@code "<revision>.<hash>"}: the revision for {@code If-Match} ({@link
 * Requests#etagValue} reads it), the whole tag for {@code If-None-Match}. Routes that answer {@code
 * If-None-Match} themselves (the configuration long poll) set a {@code Cache-Control} of their own
 * and are left alone; the {@code no-store} every response starts with ({@link SecurityHeaders}) is
 * replaced, since a client that may keep nothing has nothing to revalidate. {@code private} keeps
 * shared caches from storing an answer meant for one caller.
 */
final class ConditionalGet {

  /**
   * Request attribute: {@link Boolean#TRUE} when the ETag the route set names the whole answer, so
   * that it may answer 304.
   */
  static final String BODY_ETAG = "vigil.etag.body";

  /** Request attribute: the request's {@code If-None-Match}, its lines joined by commas. */
  static final String IF_NONE_MATCH = "vigil.ifNoneMatch";

  private ConditionalGet() {}

  /**
   * Moves {@code If-None-Match} from the request's headers to {@link #IF_NONE_MATCH}, so that
   * Javalin's own check never answers 304 for an ETag that does not name the whole answer (a
   * server's revision, with heartbeat fields the revision does not cover).
   */
  static final class HeaderHider extends Handler.Wrapper {
    @Override
    public boolean handle(Request request, Response response, Callback callback) throws Exception {
      HttpFields headers = request.getHeaders();
      if (!headers.contains(HttpHeader.IF_NONE_MATCH)) {
        return super.handle(request, response, callback);
      }
      request.setAttribute(
          IF_NONE_MATCH, String.join(", ", headers.getValuesList(HttpHeader.IF_NONE_MATCH)));
      HttpFields without = HttpFields.build(headers).remove(HttpHeader.IF_NONE_MATCH).asImmutable();
      return super.handle(
          new Request.Wrapper(request) {
            @Override
            public HttpFields getHeaders() {
              return without;
            }
          },
          response,
          callback);
    }
  }

  /** Runs after the route's handler, before the answer is sent. */
  static void apply(Context ctx) {
    if (!HandlerType.GET.equals(ctx.method()) || ctx.statusCode() != 200) {
      return;
    }
    String cacheControl = ctx.res().getHeader("Cache-Control");
    if (cacheControl != null && !cacheControl.equals("no-store")) {
      return;
    }
    String etag = ctx.res().getHeader("ETag");
    if (etag == null || !Boolean.TRUE.equals(ctx.attribute(BODY_ETAG))) {
      InputStream result = ctx.resultInputStream();
      if (!(result instanceof ByteArrayInputStream body)) {
        if (etag != null) {
          ctx.header("Cache-Control", "private, no-cache");
        }
        return;
      }
      String hash = hash(body);
      etag = etag == null ? hash : withHash(etag, hash);
      ctx.header("ETag", etag);
    }
    ctx.header("Cache-Control", "private, no-cache");
    if (matches(Requests.ifNoneMatch(ctx), etag)) {
      ctx.status(304);
      ctx.result(new byte[0]);
    }
  }

  /**
   * A revision ETag ({@code "3"}) with the hash of the answer after it ({@code "3.<hash>"}), for an
   * answer that shows more than its revision covers.
   */
  static String withHash(String revisionEtag, String hashEtag) {
    return revisionEtag.substring(0, revisionEtag.length() - 1) + "." + hashEtag.substring(1);
  }

  /** A strong ETag of a body: its SHA-256, 128 bits of it in base64url, in quotes. */
  static String etagOf(byte[] body) {
    return quoted(digest(body));
  }

  private static String hash(ByteArrayInputStream body) {
    body.mark(0);
    byte[] bytes = body.readAllBytes();
    body.reset();
    return quoted(digest(bytes));
  }

  private static byte[] digest(byte[] bytes) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(bytes);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JDK has SHA-256", e);
    }
  }

  private static String quoted(byte[] digest) {
    byte[] half = java.util.Arrays.copyOf(digest, 16);
    return "\"" + Base64.getUrlEncoder().withoutPadding().encodeToString(half) + "\"";
  }

  /**
   * Whether {@code If-None-Match} names {@code etag}: {@code *}, or a list of entity tags one of
   * which has the same opaque tag, weak ({@code W/}) or not (the weak comparison of RFC 9110
   * 8.8.3.2, which If-None-Match uses). Null or anything unparsable matches nothing.
   */
  static boolean matches(String ifNoneMatch, String etag) {
    if (ifNoneMatch == null || etag == null) {
      return false;
    }
    String opaque = etag.startsWith("W/") ? etag.substring(2) : etag;
    String header = ifNoneMatch.strip();
    if (header.equals("*")) {
      return true;
    }
    int i = 0;
    int n = header.length();
    while (i < n) {
      char c = header.charAt(i);
      if (c == ',' || c == ' ' || c == '\t') {
        i++;
        continue;
      }
      if (header.startsWith("W/", i)) {
        i += 2;
      }
      if (i >= n || header.charAt(i) != '"') {
        return false;
      }
      int end = header.indexOf('"', i + 1);
      if (end < 0) {
        return false;
      }
      if (header.regionMatches(i, opaque, 0, opaque.length()) && end + 1 - i == opaque.length()) {
        return true;
      }
      i = end + 1;
    }
    return false;
  }
}
