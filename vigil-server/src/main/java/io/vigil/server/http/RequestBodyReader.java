package io.vigil.server.http;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.eclipse.jetty.http.HttpField;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpHeaderValue;
import org.eclipse.jetty.http.HttpStatus;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.thread.Scheduler;

/**
 * Reads every request body in full before the next handler runs, without holding a thread while the
 * bytes trickle in: it reads what has arrived and asks Jetty to call back when more does. A body
 * that has not fully arrived within the deadline ({@code Http.RequestBodyTimeoutSeconds}) is
 * answered 408 and one larger than {@code Http.MaxRequestBytes} 413; both close the connection.
 *
 * <p>The handlers behind it (Javalin's blocking servlet) then read the body from memory and never
 * wait for the network, so a slow client costs a connection, not a request thread. A body is copied
 * as it arrives, so memory per request is bounded by the size limit whatever the pace.
 *
 * <p>Races: the deadline fires on Jetty's scheduler while a read may be under way on a pool thread;
 * whichever settles the request first (under the reader's lock) wins, and the loser only releases
 * what it holds.
 */
final class RequestBodyReader extends Handler.Wrapper {

  private final long maxBytes;
  private final Duration deadline;

  RequestBodyReader(long maxBytes, Duration deadline) {
    this.maxBytes = maxBytes;
    this.deadline = deadline;
  }

  @Override
  public boolean handle(Request request, Response response, Callback callback) throws Exception {
    Handler next = getHandler();
    if (next == null) {
      return false;
    }
    long declared = -1;
    boolean chunked = false;
    for (HttpField field : request.getHeaders()) {
      if (field.getHeader() == HttpHeader.CONTENT_LENGTH) {
        declared = field.getLongValue();
      } else if (field.getHeader() == HttpHeader.TRANSFER_ENCODING) {
        chunked = field.contains(HttpHeaderValue.CHUNKED.asString());
      }
    }
    if (!chunked && declared <= 0) {
      return next.handle(request, response, callback);
    }
    if (declared > maxBytes) {
      reject(request, response, callback, HttpStatus.PAYLOAD_TOO_LARGE_413);
      return true;
    }
    new Reading(next, request, response, callback, declared).start();
    return true;
  }

  private static void reject(Request request, Response response, Callback callback, int status) {
    response.getHeaders().put(HttpHeader.CONNECTION, HttpHeaderValue.CLOSE.asString());
    Response.writeError(request, response, callback, status);
  }

  /** One body being read; {@link #run} is Jetty's callback when more of it has arrived. */
  private final class Reading implements Runnable {
    private final Handler next;
    private final Request request;
    private final Response response;
    private final Callback callback;
    private final ByteArrayOutputStream body;
    private Scheduler.Task timer;
    private boolean settled;

    Reading(Handler next, Request request, Response response, Callback callback, long declared) {
      this.next = next;
      this.request = request;
      this.response = response;
      this.callback = callback;
      this.body = new ByteArrayOutputStream((int) Math.min(Math.max(declared, 256), 64 * 1024));
    }

    void start() {
      timer =
          request
              .getComponents()
              .getScheduler()
              .schedule(this::expire, deadline.toMillis(), TimeUnit.MILLISECONDS);
      read();
    }

    @Override
    public void run() {
      read();
    }

    private void read() {
      while (true) {
        Content.Chunk chunk = request.read();
        if (chunk == null) {
          synchronized (this) {
            if (settled) {
              return;
            }
          }
          request.demand(this);
          return;
        }
        try {
          if (Content.Chunk.isFailure(chunk)) {
            // A transient failure is the idle timeout: the client went quiet mid-body.
            boolean timeout = !chunk.isLast();
            if (settle()) {
              if (timeout) {
                reject(request, response, callback, HttpStatus.REQUEST_TIMEOUT_408);
              } else {
                callback.failed(chunk.getFailure());
              }
            }
            return;
          }
          boolean tooLarge;
          synchronized (this) {
            if (settled) {
              return;
            }
            ByteBuffer bytes = chunk.getByteBuffer();
            tooLarge = body.size() + (long) bytes.remaining() > maxBytes;
            if (!tooLarge) {
              byte[] copy = new byte[bytes.remaining()];
              bytes.get(copy);
              body.write(copy, 0, copy.length);
            }
          }
          if (tooLarge) {
            if (settle()) {
              reject(request, response, callback, HttpStatus.PAYLOAD_TOO_LARGE_413);
            }
            return;
          }
          if (chunk.isLast()) {
            if (settle()) {
              dispatch();
            }
            return;
          }
        } finally {
          chunk.release();
        }
      }
    }

    private void expire() {
      if (settle()) {
        reject(request, response, callback, HttpStatus.REQUEST_TIMEOUT_408);
      }
    }

    /** Claims the request for the caller; false when the deadline or a read already did. */
    private boolean settle() {
      synchronized (this) {
        if (settled) {
          return false;
        }
        settled = true;
      }
      timer.cancel();
      return true;
    }

    private void dispatch() {
      Request whole = new WholeBody(request, body.toByteArray());
      try {
        if (!next.handle(whole, response, callback)) {
          Response.writeError(request, response, callback, HttpStatus.NOT_FOUND_404);
        }
      } catch (Throwable t) {
        Response.writeError(request, response, callback, t);
      }
    }
  }

  /** The request with its body already in memory. */
  private static final class WholeBody extends Request.Wrapper {
    private Content.Chunk content;

    WholeBody(Request wrapped, byte[] body) {
      super(wrapped);
      this.content = Content.Chunk.from(ByteBuffer.wrap(body), true);
    }

    @Override
    public synchronized Content.Chunk read() {
      Content.Chunk c = content;
      content = Content.Chunk.EOF;
      return c;
    }

    @Override
    public void demand(Runnable demandCallback) {
      demandCallback.run();
    }

    @Override
    public boolean consumeAvailable() {
      synchronized (this) {
        content = Content.Chunk.EOF;
      }
      return true;
    }
  }
}
