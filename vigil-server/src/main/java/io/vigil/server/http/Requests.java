package io.vigil.server.http;

import io.javalin.http.Context;
import java.util.UUID;

/** Parsing of the parts of a request that every area shares: ids, preconditions, paging. */
public final class Requests {

  private Requests() {}

  /**
   * The path parameter {@code name} as a UUID. Anything that is not a UUID cannot name an object,
   * so it is a 404 for {@code what}, like an id that does not exist.
   */
  public static UUID id(Context ctx, String name, String what) {
    String raw = ctx.pathParam(name);
    try {
      UUID id = UUID.fromString(raw);
      if (!id.toString().equalsIgnoreCase(raw)) {
        throw new IllegalArgumentException();
      }
      return id;
    } catch (IllegalArgumentException e) {
      throw ApiException.notFound(what, raw);
    }
  }

  /**
   * The revision the caller last saw, from {@code If-Match: "<revision>"}. Updates require it so
   * that two people editing the same object cannot silently overwrite each other.
   *
   * @throws ApiException 428 when missing, 400 when not a revision this API issued
   */
  public static long ifMatch(Context ctx) {
    String header = ctx.header("If-Match");
    if (header == null || header.isBlank()) {
      throw new ApiException(
          428,
          "precondition_required",
          "This update needs an If-Match header with the ETag from your last read, e.g."
              + " If-Match: \"3\"; read the object again to get it.");
    }
    Long revision = etagValue(header);
    if (revision == null || revision < 1) {
      throw ApiException.badRequest(
          "invalid_precondition",
          "If-Match "
              + Text.excerpt(header)
              + " is not an ETag this API issued (such as \"3\", quotes included); read the"
              + " object again to get it.");
    }
    return revision;
  }

  /**
   * The revision in an ETag as this API issues them: a decimal number without sign or leading zeros
   * in double quotes, e.g. {@code "3"}, or that number with the answer's hash after a dot, {@code
   * "3.<22 base64url characters>"} (a read of an object whose answer shows more than its revision
   * covers, see {@link #etag}); null for anything else. Only the revision counts for a change: the
   * hash covers fields no change can set (a server's heartbeats, an alarm's event count), which may
   * have moved since the read without making the change unsafe. Weak ETags ({@code W/"3"}) never
   * match for a change (RFC 9110 13.1.1 compares strongly), lists and {@code *} would let a change
   * through without naming what it changes, and {@code 35} or {@code "+37"} were never issued.
   */
  public static Long etagValue(String header) {
    java.util.regex.Matcher m = ETAG.matcher(header.strip());
    if (!m.matches()) {
      return null;
    }
    return Long.parseLong(m.group(1));
  }

  private static final java.util.regex.Pattern ETAG =
      java.util.regex.Pattern.compile("\"(0|[1-9][0-9]{0,17})(?:\\.[A-Za-z0-9_-]{22})?\"");

  /**
   * Sets the ETag of a response to an object's revision, for {@code If-Match}. Use it where the
   * answer shows more than the revision covers (a server's heartbeat fields change without a new
   * revision): a GET answer then carries {@code "<revision>.<hash of the answer>"}, which answers
   * 304 to {@code If-None-Match} while the whole answer is the same and still serves {@code
   * If-Match} by its revision.
   */
  public static void etag(Context ctx, long revision) {
    ctx.header("ETag", "\"" + revision + "\"");
  }

  /**
   * Sets the ETag of a response to an object's revision where every field of the answer changes
   * only with a new revision: a GET whose {@code If-None-Match} names it answers 304 with no body.
   */
  public static void revisionEtag(Context ctx, long revision) {
    etag(ctx, revision);
    ctx.attribute(ConditionalGet.BODY_ETAG, true);
  }

  /**
   * The request's {@code If-None-Match}, several lines joined by commas, or null. Read it here, not
   * from the headers: {@link ConditionalGet} takes it out of them so that Javalin cannot answer 304
   * on its own.
   */
  public static String ifNoneMatch(Context ctx) {
    return ctx.attribute(ConditionalGet.IF_NONE_MATCH);
  }

  /** The {@code limit} query parameter: 1-500, default 100. */
  public static int limit(Context ctx) {
    return limit(ctx, 100);
  }

  /** The {@code limit} query parameter: 1-500, {@code defaultLimit} when absent. */
  public static int limit(Context ctx, int defaultLimit) {
    String raw = ctx.queryParam("limit");
    if (raw == null) {
      return defaultLimit;
    }
    try {
      int limit = Integer.parseInt(raw);
      if (limit < 1 || limit > 500) {
        throw new NumberFormatException();
      }
      return limit;
    } catch (NumberFormatException e) {
      throw ApiException.badRequest(
          "invalid_limit",
          "limit=" + Text.excerpt(raw) + " is invalid: use a whole number from 1 to 500.");
    }
  }
}
