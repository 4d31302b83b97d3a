package io.vigil.client;

import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.DoubleSupplier;
import java.util.function.LongSupplier;
import javax.net.ssl.SSLException;

/**
 * Sends one call to the management server and rides through a failover: the rules the {@link
 * VigilClient} javadoc states, in one place.
 *
 * <ul>
 *   <li>A call goes to the node that answered last (the active node), at first the first listed.
 *   <li>A {@code 307}/{@code 308} from a standby names the active node: the call is sent there, and
 *       later calls go there first. A standby did nothing with the call, so this is safe for every
 *       call.
 *   <li>A connection that cannot be opened means the node is down: the next listed node is tried.
 *       Nothing was sent, so this too is safe for every call.
 *   <li>A {@code 503} with a code that says the node did not act ({@code no_active_node}, {@code
 *       not_active}, {@code fenced}: a write refused and rolled back because the node lost the
 *       role, {@code starting}, {@code resource_starting}, {@code resource_stopping}, {@code
 *       maintenance}) and a {@code 429} are retried for every call, after the server's {@code
 *       Retry-After} or the backoff, whichever is longer; a {@code no_active_node} also moves to
 *       the next node, so the caller finds the new owner through whichever node knows it first.
 *   <li>Anything that may have reached a running node and is unknown (a timeout, a connection that
 *       broke during the exchange, any other {@code 503}, a {@code 502}/{@code 504} from a proxy)
 *       is retried only for an idempotent call (GET, PUT, DELETE, a POST of events that each carry
 *       an idempotency key, and a component's registration with a token, which the server answers
 *       again until the component first reports); any other call fails with it.
 *   <li>A {@code 401} on a call with a token gets a fresh token once, when the token source can get
 *       one without asking anybody (a component's client credentials always can).
 *   <li>Redirects that go round in a circle (more than five for one attempt: the nodes disagree
 *       about the owner, as for a moment during a failover) are retried after the backoff, for
 *       every call, since no node acted; {@code too_many_redirects} when the failover time ran out.
 *   <li>A node's URL may carry a base path ({@code https://host/vigil} behind a reverse proxy):
 *       calls go below it, and a redirect's node is its {@code Location} without the path asked.
 *   <li>A call gives up after its failover time, with {@code unreachable} when no node answered,
 *       {@code no_active_node} when nodes answered but none served the call.
 * </ul>
 *
 * Thread-safe: many threads may send at once; they share the active node and the token.
 */
final class Transport {

  /**
   * What a call sends. {@code body} null sends none; {@code headers} are added to the request (such
   * as {@code If-None-Match}); {@code timeout} null waits the transport's request timeout for the
   * answer, a long poll gives its own.
   */
  @SuppressWarnings("ArrayRecordComponent") // the body is handed to the HTTP client, never compared
  record Call(
      String method,
      String path,
      byte[] body,
      String contentType,
      boolean idempotent,
      boolean authenticated,
      Map<String, String> headers,
      Duration timeout) {

    Call {
      headers = headers == null ? Map.of() : Map.copyOf(headers);
    }

    Call(
        String method,
        String path,
        byte[] body,
        String contentType,
        boolean idempotent,
        boolean authenticated) {
      this(method, path, body, contentType, idempotent, authenticated, Map.of(), null);
    }
  }

  /** An answer: its status, body and the headers the client reads. */
  record Reply(int status, String body, String etag, String retryAfter, String location) {}

  /** One HTTP exchange with one node; tests replace it to script the answers. */
  interface Exchange {
    Reply exchange(URI node, Call call, String token) throws IOException;
  }

  /** How the transport waits; tests replace it to run without sleeping. */
  interface Sleeper {
    void sleep(Duration d) throws InterruptedException;
  }

  /** Gets a bearer token, and a fresh one after a 401. */
  interface Tokens {
    String token(Transport transport);

    /**
     * Forgets {@code token}, which the API refused; returns whether a fresh one can be had, so that
     * the call is sent once more.
     */
    boolean invalidate(String token);
  }

  private static final Set<String> NOT_ACTED =
      Set.of(
          "no_active_node",
          "not_active",
          "fenced",
          "starting",
          "resource_starting",
          "resource_stopping",
          "maintenance");

  private static final int MAX_REDIRECTS = 5;

  private final List<URI> nodes;
  private final Exchange exchange;
  private final Duration failoverTime;
  private final Backoff backoff;
  private final Sleeper sleeper;
  private final LongSupplier nanoTime;
  private final DoubleSupplier random;
  private volatile Tokens tokens;
  private volatile URI active;

  Transport(
      List<URI> nodes,
      Exchange exchange,
      Duration failoverTime,
      Backoff backoff,
      Sleeper sleeper,
      LongSupplier nanoTime,
      DoubleSupplier random) {
    if (nodes.isEmpty()) {
      throw new IllegalArgumentException("no management server address");
    }
    this.nodes = List.copyOf(nodes);
    this.exchange = exchange;
    this.failoverTime = failoverTime;
    this.backoff = backoff;
    this.sleeper = sleeper;
    this.nanoTime = nanoTime;
    this.random = random;
    this.active = this.nodes.getFirst();
  }

  void tokens(Tokens tokens) {
    this.tokens = tokens;
  }

  /** The node calls go to first: the one that answered last. */
  URI active() {
    return active;
  }

  List<URI> nodes() {
    return nodes;
  }

  /**
   * Sends {@code call} by the rules above and returns the first answer that is neither a redirect
   * nor a retried refusal: a success, or an error for the caller to turn into a {@link
   * VigilException}.
   *
   * @throws VigilException when the call's failover time ran out, or the answer cannot be retried
   */
  Reply send(Call call) {
    long deadline = nanoTime.getAsLong() + failoverTime.toNanos();
    int attempt = 0;
    int redirects = 0;
    boolean refreshedToken = false;
    URI target = active;
    boolean first = true;
    VigilException last = null;
    while (true) {
      String token = call.authenticated() ? tokens.token(this) : null;
      if (first) {
        // Getting the token may itself have followed a redirect to the active node: go there too.
        target = active;
        first = false;
      }
      Reply reply;
      try {
        reply = exchange.exchange(target, call, token);
      } catch (ConnectException | HttpConnectTimeoutException e) {
        last =
            new VigilException(
                0, "unreachable", "Cannot connect to the management server at " + target, e);
        target = next(target);
        attempt++;
        pause(deadline, attempt, null, last);
        continue;
      } catch (SSLException e) {
        throw untrusted(target, e);
      } catch (IOException e) {
        SSLException ssl = sslCause(e);
        if (ssl != null) {
          throw untrusted(target, ssl);
        }
        last =
            new VigilException(
                0,
                "unreachable",
                "The connection to the management server at " + target + " failed: " + e,
                e);
        if (!call.idempotent()) {
          throw last;
        }
        target = next(target);
        attempt++;
        pause(deadline, attempt, null, last);
        continue;
      }
      int status = reply.status();
      if ((status == 307 || status == 308) && reply.location() != null) {
        target = redirected(target, reply.location(), call.path());
        if (++redirects > MAX_REDIRECTS) {
          // Nodes that send the call round in a circle disagree about the owner, as during a
          // failover until every node has seen the new lease: none acted, so wait and ask again.
          last =
              new VigilException(
                  status,
                  "too_many_redirects",
                  "The management server's nodes kept redirecting to each other (no node"
                      + " served the call).");
          redirects = 0;
          attempt++;
          pause(deadline, attempt, null, last);
        }
        continue;
      }
      if (status == 401 && call.authenticated() && !refreshedToken) {
        refreshedToken = true;
        if (tokens.invalidate(token)) {
          continue;
        }
      }
      String code = ApiJson.errorCode(reply.body());
      Duration retryAfter = retryAfter(reply.retryAfter());
      boolean notActed = status == 429 || (status == 503 && NOT_ACTED.contains(code));
      boolean unknown = status == 502 || status == 503 || status == 504;
      if (notActed || (unknown && call.idempotent())) {
        last =
            new VigilException(
                status,
                status == 503 && "no_active_node".equals(code) ? "no_active_node" : code,
                ApiJson.errorMessage(reply.body(), "HTTP " + status + " from " + target));
        if ("no_active_node".equals(code)) {
          target = next(target);
        }
        attempt++;
        pause(deadline, attempt, retryAfter, last);
        continue;
      }
      if (status < 300 || status == 304) {
        active = target;
      }
      return reply;
    }
  }

  private void pause(long deadline, int attempt, Duration retryAfter, VigilException last) {
    Duration wait = backoff.delay(attempt, random.getAsDouble(), retryAfter);
    long left = deadline - nanoTime.getAsLong();
    if (left <= 0 || wait.toNanos() > left) {
      throw last;
    }
    try {
      sleeper.sleep(wait);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new VigilException(0, "interrupted", "Interrupted while waiting to retry.", e);
    }
  }

  /** A bearer token for a call this transport does not send itself (the live stream). */
  String token() {
    return tokens.token(this);
  }

  boolean invalidate(String token) {
    return tokens.invalidate(token);
  }

  /**
   * The error of a TLS handshake that failed: code {@code invalid_certificate}, status 0, with the
   * {@link SSLException} as its cause so that a caller can explain it.
   */
  private static VigilException untrusted(URI target, SSLException e) {
    return new VigilException(
        0,
        "invalid_certificate",
        "The management server at "
            + target
            + " presented a certificate this client does not trust: "
            + e.getMessage(),
        e);
  }

  /** The {@link SSLException} in {@code e}'s causes, or null. */
  @SuppressWarnings(
      "ReferenceEquality") // identity on purpose: a cause that is itself ends the chain
  static SSLException sslCause(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
      if (t instanceof SSLException ssl) {
        return ssl;
      }
    }
    return null;
  }

  /** Records that {@code node} served a call: later calls go there first. */
  void served(URI node) {
    active = node;
  }

  /** Waits the backoff before retry number {@code attempt}, or the server's Retry-After. */
  void backoff(int attempt, String retryAfterHeader) throws InterruptedException {
    sleeper.sleep(backoff.delay(attempt, random.getAsDouble(), retryAfter(retryAfterHeader)));
  }

  URI next(URI current) {
    int i = nodes.indexOf(current);
    return nodes.get((i + 1) % nodes.size());
  }

  /** The exchange over the JDK's HTTP client. */
  static final class Http implements Exchange {
    private final HttpClient http;
    private final Duration requestTimeout;

    Http(HttpClient http, Duration requestTimeout) {
      this.http = http;
      this.requestTimeout = requestTimeout;
    }

    @Override
    public Reply exchange(URI node, Call call, String token) throws IOException {
      HttpRequest.Builder b =
          HttpRequest.newBuilder(url(node, call.path()))
              .timeout(call.timeout() == null ? requestTimeout : call.timeout())
              .header("Accept", "application/json")
              .method(
                  call.method(),
                  call.body() == null
                      ? HttpRequest.BodyPublishers.noBody()
                      : HttpRequest.BodyPublishers.ofByteArray(call.body()));
      if (call.contentType() != null) {
        b.header("Content-Type", call.contentType());
      }
      if (token != null) {
        b.header("Authorization", "Bearer " + token);
      }
      call.headers().forEach(b::header);
      HttpResponse<String> r;
      try {
        r = http.send(b.build(), HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new VigilException(0, "interrupted", "Interrupted during a call.", e);
      }
      return new Reply(
          r.statusCode(),
          r.body(),
          r.headers().firstValue("ETag").orElse(null),
          r.headers().firstValue("Retry-After").orElse(null),
          r.headers().firstValue("Location").orElse(null));
    }
  }

  /** The scheme, host and port of {@code uri}. */
  static URI origin(URI uri) {
    return URI.create(uri.getScheme().toLowerCase(Locale.ROOT) + "://" + uri.getRawAuthority());
  }

  /**
   * A node's base URL: the scheme, host and port of {@code uri} and its path without a trailing
   * slash (a node behind a reverse proxy at {@code https://host/vigil} keeps {@code /vigil}); no
   * query or fragment.
   */
  static URI base(URI uri) {
    String path = uri.getRawPath() == null ? "" : uri.getRawPath().replaceAll("/+$", "");
    return URI.create(origin(uri) + path);
  }

  /** The URL of {@code path} (such as {@code /api/v1/events?limit=5}) on the node {@code node}. */
  static URI url(URI node, String path) {
    return URI.create(node + path);
  }

  /**
   * The node a standby's redirect names. A standby redirects a call to the active node's base URL
   * followed by the path it was asked for, so the base is the {@code Location} without that path; a
   * {@code Location} that does not end with it names the node by its origin.
   */
  static URI redirected(URI from, String location, String path) {
    URI to = from.resolve(location.strip());
    String s = to.toString();
    if (s.endsWith(path)) {
      return base(URI.create(s.substring(0, s.length() - path.length())));
    }
    int q = path.indexOf('?');
    String bare = q < 0 ? path : path.substring(0, q);
    String sBare = to.getRawQuery() == null ? s : s.substring(0, s.indexOf('?'));
    if (!bare.isEmpty() && sBare.endsWith(bare)) {
      return base(URI.create(sBare.substring(0, sBare.length() - bare.length())));
    }
    return origin(to);
  }

  /** A {@code Retry-After} of whole seconds (the only form Vigil sends), else null. */
  static Duration retryAfter(String header) {
    if (header == null) {
      return null;
    }
    try {
      long seconds = Long.parseLong(header.strip());
      return seconds < 0 ? null : Duration.ofSeconds(Math.min(seconds, 60));
    } catch (NumberFormatException e) {
      return null;
    }
  }
}
