package io.vigil.server.events;

import io.javalin.http.Context;
import io.javalin.http.sse.SseClient;
import io.javalin.http.sse.SseHandler;
import io.vigil.server.cluster.Fence;
import io.vigil.server.http.ApiException;
import io.vigil.server.http.Json;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import org.jdbi.v3.core.Handle;

/**
 * The live stream of events and alarm changes ({@code GET /api/v1/events/stream}, Server-Sent
 * Events), served by the node that runs the {@code event-server} resource.
 *
 * <p>Both tables' ids come from the database in the order rows were inserted, but concurrent
 * transactions may commit in another order: a stream that sent everything above the last id it sent
 * could skip a row whose transaction drew a lower id and committed later. So the stream only sends
 * rows at or below a <em>settled</em> high-water mark: one thread polls the highest ids every
 * {@link #POLL}, and when they moved it reads them again through {@link Fence#readSettled}, which
 * waits for the fenced writes in flight; every row at or below that mark is then committed or never
 * will be. Each client has a virtual thread that waits for the mark to pass its position and then
 * reads and sends, in pages, what its filter lets through up to the mark ({@link StreamStep}); a
 * client that stops reading holds up only its own thread. The position is in every message's id, so
 * a client that reconnects with {@code Last-Event-ID}, to this node or after a failover to the new
 * owner (the state is all in the shared database), gets what followed, nothing twice.
 *
 * <p>When the resource stops (maintenance, failover, shutdown) every stream is closed, so that its
 * client reconnects and is redirected to the active node. A comment is sent when nothing else was
 * for {@code keepAlive}, so that idle streams outlive proxies' and the server's idle timeouts.
 */
public final class EventStream {

  static final Duration POLL = Duration.ofMillis(200);

  /** Rows of each table read per page. */
  static final int PAGE = 200;

  /** The most streams one node serves at once. */
  static final int MAX_CLIENTS = 500;

  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(EventStream.class);

  private final Fence fence;
  private final Duration keepAlive;
  private final ReentrantLock lock = new ReentrantLock();
  private final Condition moved = lock.newCondition();
  private final Set<SseClient> clients = ConcurrentHashMap.newKeySet();
  private ScheduledExecutorService poller;
  private volatile boolean running;
  private volatile StreamPosition mark;

  /**
   * @param keepAlive how long a stream may stay silent before a comment is sent: less than the HTTP
   *     idle timeout
   */
  public EventStream(Fence fence, Duration keepAlive) {
    this.fence = fence;
    this.keepAlive = keepAlive;
  }

  /** Starts polling for new rows (the {@code event-server} resource started on this node). */
  public synchronized void start() {
    stop();
    running = true;
    ScheduledExecutorService executor =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "vigil-event-stream");
              t.setDaemon(true);
              return t;
            });
    poller = executor;
    var unused =
        executor.scheduleWithFixedDelay(this::poll, 0, POLL.toMillis(), TimeUnit.MILLISECONDS);
  }

  /** Stops polling and closes every stream: their clients reconnect to the active node. */
  public synchronized void stop() {
    running = false;
    if (poller != null) {
      poller.shutdownNow();
      poller = null;
    }
    lock.lock();
    try {
      mark = null;
      moved.signalAll();
    } finally {
      lock.unlock();
    }
    for (SseClient client : List.copyOf(clients)) {
      client.close();
    }
  }

  /** How many streams are open. */
  public int clients() {
    return clients.size();
  }

  private void poll() {
    try {
      StreamPosition current = mark;
      StreamPosition peek = fence.read(EventStream::highest);
      if (current != null && current.reached(peek)) {
        return; // nothing committed since the last settled mark
      }
      StreamPosition settled = fence.readSettled(EventStream::highest);
      lock.lock();
      try {
        if (running) {
          mark = current == null ? settled : current.atLeast(settled);
          moved.signalAll();
        }
      } finally {
        lock.unlock();
      }
    } catch (RuntimeException e) {
      // The database away or slow: streams wait, and the next poll tries again.
      LOG.debug("Polling for new events failed: {}", e.toString());
    }
  }

  private static StreamPosition highest(Handle h) {
    return h.createQuery(
            "SELECT (SELECT COALESCE(MAX(id), 0) FROM events) AS e,"
                + " (SELECT COALESCE(MAX(id), 0) FROM alarm_activity) AS a")
        .map((rs, ctx) -> new StreamPosition(rs.getLong("e"), rs.getLong("a")))
        .one();
  }

  /**
   * Answers a stream request: checks it can be served, then keeps the response open and sends what
   * follows {@code from} or, without it, what is committed after the request.
   *
   * @throws ApiException 406 {@code not_acceptable} unless the request accepts {@code
   *     text/event-stream}; 503 {@code event_server_stopped} while the resource does not run here,
   *     {@code too_many_streams} when {@link #MAX_CLIENTS} are open
   */
  void open(Context ctx, StreamFilter filter, StreamPosition from) {
    String accept = ctx.header("Accept");
    if (accept == null || !accept.contains("text/event-stream")) {
      throw new ApiException(
          406,
          "not_acceptable",
          "The event stream is sent as Server-Sent Events: send Accept: text/event-stream.");
    }
    if (!running) {
      throw new ApiException(
          503,
          "event_server_stopped",
          "The event server is not running on this node; try again shortly.");
    }
    if (clients.size() >= MAX_CLIENTS) {
      throw new ApiException(
          503,
          "too_many_streams",
          "This node already serves "
              + MAX_CLIENTS
              + " event streams; try again later or close streams no longer read.");
    }
    // Without a last id the stream starts at what is committed now, fixed before the response
    // begins: what the client posts once it has the response is sent to it.
    StreamPosition start = from == null ? fence.readSettled(EventStream::highest) : from;
    new SseHandler(
            client -> {
              client.keepAlive();
              clients.add(client);
              client.onClose(() -> clients.remove(client));
              Thread.ofVirtual()
                  .name("vigil-event-stream-client")
                  .start(() -> serve(client, filter, start));
            })
        .handle(ctx);
  }

  private void serve(SseClient client, StreamFilter filter, StreamPosition from) {
    try {
      StreamPosition position = from;
      while (running && !client.terminated()) {
        StreamPosition target = awaitBeyond(position);
        if (!running) {
          break;
        }
        if (target == null) {
          client.sendComment("keepalive");
          continue;
        }
        do {
          StreamPosition at = position;
          StreamStep.Result step = fence.read(h -> read(h, filter, at, target));
          for (StreamStep.Message m : step.messages()) {
            client.sendEvent(m.name(), Json.MAPPER.writeValueAsString(m.data()), m.id());
          }
          position = step.next();
        } while (!position.reached(target) && running && !client.terminated());
      }
    } catch (Exception e) {
      // The database away or the client gone: it reconnects with its last id.
      LOG.debug("An event stream ended: {}", e.toString());
    } finally {
      clients.remove(client);
      client.close();
    }
  }

  /** The mark once it passed {@code position}, or null when {@link #keepAlive} passed first. */
  private StreamPosition awaitBeyond(StreamPosition position) throws InterruptedException {
    long left = keepAlive.toNanos();
    lock.lock();
    try {
      while (running && (mark == null || position.reached(mark)) && left > 0) {
        left = moved.awaitNanos(left);
      }
      StreamPosition m = mark;
      return running && m != null && !position.reached(m) ? m : null;
    } finally {
      lock.unlock();
    }
  }

  /** One page of each table between {@code from} and {@code mark}, as the next step. */
  static StreamStep.Result read(
      Handle h, StreamFilter filter, StreamPosition from, StreamPosition mark) {
    List<Event> events = List.of();
    if (filter.events() && from.events() < mark.events()) {
      StringBuilder sql =
          new StringBuilder("SELECT * FROM events WHERE id > :after AND id <= :upTo");
      if (!filter.types().isEmpty()) {
        sql.append(" AND type IN (<types>)");
      }
      if (filter.source() != null) {
        sql.append(" AND source = :source");
      }
      sql.append(" ORDER BY id LIMIT :limit");
      var q =
          h.createQuery(sql.toString())
              .bind("after", from.events())
              .bind("upTo", mark.events())
              .bind("limit", PAGE + 1);
      if (!filter.types().isEmpty()) {
        q.bindList("types", List.copyOf(filter.types()));
      }
      if (filter.source() != null) {
        q.bind("source", filter.source());
      }
      events = q.map(EventStore::row).list();
    }
    List<AlarmChange> changes = List.of();
    if (filter.alarms() && from.alarms() < mark.alarms()) {
      String sql =
          "SELECT a.*, act.id AS activity_id, act.happened_at, act.actor, act.action, act.detail"
              + " FROM alarm_activity act JOIN alarms a ON a.id = act.alarm_id"
              + " WHERE act.id > :after AND act.id <= :upTo"
              + (filter.source() == null ? "" : " AND a.source = :source")
              + " ORDER BY act.id LIMIT :limit";
      var q =
          h.createQuery(sql)
              .bind("after", from.alarms())
              .bind("upTo", mark.alarms())
              .bind("limit", PAGE + 1);
      if (filter.source() != null) {
        q.bind("source", filter.source());
      }
      changes =
          q.map(
                  (rs, ctx) ->
                      new AlarmChange(
                          rs.getLong("activity_id"),
                          io.vigil.server.db.Sql.instant(rs.getTimestamp("happened_at")),
                          rs.getString("actor"),
                          rs.getString("action"),
                          rs.getString("detail"),
                          Alarms.row(rs, ctx)))
              .list();
    }
    boolean moreEvents = events.size() > PAGE;
    boolean moreChanges = changes.size() > PAGE;
    return StreamStep.step(
        from,
        mark,
        moreEvents ? events.subList(0, PAGE) : events,
        moreEvents,
        moreChanges ? changes.subList(0, PAGE) : changes,
        moreChanges);
  }
}
