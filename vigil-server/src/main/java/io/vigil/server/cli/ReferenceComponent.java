package io.vigil.server.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.vigil.client.ClientCredentials;
import io.vigil.client.ComponentRegistration;
import io.vigil.client.ConfigurationWatch;
import io.vigil.client.EventDraft;
import io.vigil.client.Load;
import io.vigil.client.NewServer;
import io.vigil.client.RegisteredServer;
import io.vigil.client.ServerConfiguration;
import io.vigil.client.VigilClient;
import io.vigil.client.VigilException;
import java.net.URI;
import java.net.http.HttpClient;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One simulated recording server (or other component) built on the SDK, as {@code vigil component
 * run} starts it: registers once (or reuses the registration in its state file), adds its simulated
 * hardware and cameras, follows its configuration watch, sends a heartbeat with simulated load
 * figures every interval and motion events about its cameras (or its server, without cameras) at a
 * set rate, each with an idempotency key. Events the management server did not acknowledge are kept
 * and sent again with the same keys, so none is lost or stored twice through a failover.
 *
 * <p>Reports each change of state as one line: registered, online, disconnected, reconnected (with
 * how long it took), configuration changes, stopped.
 */
final class ReferenceComponent {

  /** How a component without a stored registration registers. */
  @FunctionalInterface
  interface Registrar {
    ComponentRegistration.Registered register(NewServer server);
  }

  /** Where a component's lines go. */
  @FunctionalInterface
  interface Output {
    void line(String component, String text);
  }

  /** Where acknowledged events are recorded: {@code <server id> <idempotency key>}. */
  @FunctionalInterface
  interface Acknowledged {
    void events(UUID serverId, List<String> keys);
  }

  /** What every instance of one {@code vigil component run} shares. */
  record Options(
      List<String> servers,
      String type,
      int cameras,
      Duration heartbeat,
      double eventsPerMinute,
      String address,
      Duration failoverTime) {}

  static final long DISK_BYTES = 4L << 40;
  static final long BYTES_PER_CAMERA_SECOND = 250_000;

  private final String name;
  private final Options options;
  private final HttpClient http;
  private final ComponentStates states;
  private final Registrar registrar;
  private final Output out;
  private final Acknowledged acknowledged;
  private final String run = Long.toHexString(ThreadLocalRandom.current().nextLong());
  private final long startedAt = System.nanoTime();
  private final AtomicLong heartbeats = new AtomicLong();
  private final AtomicLong eventsAcknowledged = new AtomicLong();
  private final Deque<EventDraft> pending = new ArrayDeque<>();
  private volatile List<String> cameraIds = List.of();
  private volatile boolean stopping;
  private volatile Thread thread;
  private volatile ConfigurationWatch watch;
  private volatile VigilException failure;
  private long sequence;
  private double eventCredit;
  private String motionOn;

  ReferenceComponent(
      String name,
      Options options,
      HttpClient http,
      ComponentStates states,
      Registrar registrar,
      Output out,
      Acknowledged acknowledged) {
    this.name = name;
    this.options = options;
    this.http = http;
    this.states = states;
    this.registrar = registrar;
    this.out = out;
    this.acknowledged = acknowledged;
  }

  String name() {
    return name;
  }

  /** The failure that stopped this component before it was asked to stop, else null. */
  VigilException failure() {
    return failure;
  }

  void start() {
    thread = Thread.ofVirtual().name("component-" + name).start(this::run);
  }

  /** Whether the component's thread still runs. */
  boolean running() {
    Thread t = thread;
    return t != null && t.isAlive();
  }

  /** Stops the component: its loop ends, its watch and client close. Waits up to {@code wait}. */
  void stop(Duration wait) {
    stopping = true;
    Thread t = thread;
    if (t != null) {
      t.interrupt();
      try {
        t.join(wait);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  private void run() {
    try {
      ComponentStates.State state = registration();
      VigilClient c =
          VigilClient.builder()
              .managementServer(options.servers().toArray(String[]::new))
              .credentials(new ClientCredentials(state.clientId(), state.clientSecret()))
              .httpClient(http)
              .failoverTime(options.failoverTime())
              .build();
      try {
        if (options.cameras() > 0) {
          addCameras(c, state.serverId());
        }
        watch =
            c.watchConfiguration(
                state.serverId(),
                this::configured,
                e -> out.line(name, "configuration watch stopped: " + e.getMessage()));
        loop(c, state.serverId());
      } finally {
        ConfigurationWatch w = watch;
        if (w != null) {
          w.close();
        }
        c.close();
      }
      out.line(
          name,
          "stopped ("
              + heartbeats.get()
              + " heartbeats, "
              + eventsAcknowledged.get()
              + " events acknowledged)");
    } catch (VigilException e) {
      if (!stopping) {
        failure = e;
        out.line(name, "failed: " + e.getMessage() + " (" + e.code() + ")");
      }
    } catch (CliException e) {
      failure = new VigilException(0, e.code(), e.getMessage(), e);
      out.line(name, "failed: " + e.getMessage() + " (" + e.code() + ")");
    }
  }

  private ComponentStates.State registration() {
    var stored = states.load(name);
    if (stored.isPresent()) {
      out.line(
          name,
          "using its registration: server "
              + stored.get().serverId()
              + ", client "
              + stored.get().clientId());
      return stored.get();
    }
    ComponentRegistration.Registered r =
        registrar.register(
            new NewServer(
                name,
                options.type(),
                options.address(),
                VersionCommand.vigilVersion(),
                (int) options.heartbeat().toSeconds()));
    ComponentStates.State state =
        new ComponentStates.State(
            r.credentials().clientId(), r.credentials().secret(), r.server().id());
    states.save(name, state);
    out.line(
        name, "registered: server " + r.server().id() + ", client " + r.credentials().clientId());
    return state;
  }

  /**
   * Adds simulated hardware and cameras up to {@code --cameras}, once; later runs find them. Adding
   * is not idempotent, so a post whose outcome is unknown (status 0 or a 5xx after the SDK's own
   * retries) is not sent again blindly: the configuration is read again and only what is missing is
   * added, up to three rounds.
   */
  private void addCameras(VigilClient c, UUID serverId) {
    for (int round = 1; ; round++) {
      try {
        addMissingCameras(c, serverId);
        return;
      } catch (VigilException e) {
        boolean unknown = e.status() == 0 || e.status() >= 500;
        if (!unknown || round == 3 || stopping) {
          throw e;
        }
        out.line(name, "adding cameras: " + e.getMessage() + "; reading the configuration again");
      }
    }
  }

  private void addMissingCameras(VigilClient c, UUID serverId) {
    ServerConfiguration config = c.configuration(serverId);
    String hardwareId;
    if (config.hardware().isEmpty()) {
      Map<String, Object> hw = new LinkedHashMap<>();
      hw.put("name", name + "-hw");
      hw.put("recordingServerId", serverId.toString());
      hw.put("address", "rtsp://127.0.0.1:554/" + name);
      hw.put("model", "Vigil simulated encoder");
      hardwareId = c.post("/api/v1/hardware", hw, JsonNode.class).path("id").asText();
    } else {
      hardwareId = config.hardware().getFirst().id().toString();
    }
    for (int k = config.cameras().size() + 1; k <= options.cameras(); k++) {
      Map<String, Object> cam = new LinkedHashMap<>();
      cam.put("name", name + "-cam" + k);
      cam.put("hardwareId", hardwareId);
      cam.put("channel", k);
      try {
        c.post("/api/v1/cameras", cam, JsonNode.class);
      } catch (VigilException e) {
        if (e.status() != 409) {
          throw e;
        }
      }
    }
  }

  private void configured(ServerConfiguration c) {
    List<String> ids = new ArrayList<>();
    c.cameras().stream()
        .filter(ServerConfiguration.Camera::enabled)
        .forEach(x -> ids.add(x.id().toString()));
    boolean changed = !ids.equals(cameraIds);
    cameraIds = List.copyOf(ids);
    out.line(
        name,
        "configuration "
            + c.etag()
            + ": "
            + ids.size()
            + " cameras recording"
            + (c.server().enabled() ? "" : ", disabled by an operator")
            + (changed ? "" : " (unchanged)"));
  }

  private void loop(VigilClient c, UUID serverId) {
    boolean online = false;
    long failingSince = 0;
    long tick = options.heartbeat().toNanos();
    long next = System.nanoTime();
    while (!stopping) {
      URI before = c.activeNode();
      long t0 = System.nanoTime();
      try {
        RegisteredServer s = c.heartbeat(serverId, load());
        heartbeats.incrementAndGet();
        long took = System.nanoTime() - t0;
        URI after = c.activeNode();
        if (!online) {
          out.line(
              name,
              failingSince == 0
                  ? "online at " + after + " (status " + s.status() + ")"
                  : "reconnected to "
                      + after
                      + " after "
                      + seconds(System.nanoTime() - failingSince));
          online = true;
          failingSince = 0;
        } else if (!after.equals(before) || took > Duration.ofSeconds(1).toNanos()) {
          out.line(name, "reconnected to " + after + " after " + seconds(took));
        }
      } catch (VigilException e) {
        if (stopping) {
          break;
        }
        if (e.status() == 409 || e.status() == 403 || e.status() == 404 || e.status() == 401) {
          failure = e;
          out.line(name, "stopped: " + e.getMessage() + " (" + e.code() + ")");
          return;
        }
        if (online || failingSince == 0) {
          out.line(name, "disconnected: " + e.getMessage());
        }
        online = false;
        if (failingSince == 0) {
          failingSince = t0;
        }
      }
      queueEvents(serverId);
      if (online && !stopping) {
        sendPending(c, serverId);
      }
      next += tick;
      long wait = next - System.nanoTime();
      if (wait < 0) {
        next = System.nanoTime();
        continue;
      }
      try {
        Thread.sleep(Duration.ofNanos(wait));
      } catch (InterruptedException e) {
        break;
      }
    }
  }

  /** Adds the events due this interval: motion starts on a camera, then stops on it. */
  private void queueEvents(UUID serverId) {
    eventCredit += options.eventsPerMinute() * options.heartbeat().toMillis() / 60_000.0;
    while (eventCredit >= 1) {
      eventCredit -= 1;
      sequence++;
      String key = name + "-" + run + "-" + sequence;
      if (motionOn == null) {
        List<String> cams = cameraIds;
        motionOn =
            cams.isEmpty()
                ? serverId.toString()
                : cams.get(ThreadLocalRandom.current().nextInt(cams.size()));
        pending.add(
            new EventDraft("motion.started", motionOn, "info", "Motion started", null, key, null));
      } else {
        pending.add(
            new EventDraft("motion.stopped", motionOn, "info", "Motion stopped", null, key, null));
        motionOn = null;
      }
    }
  }

  /** Sends what is pending; unacknowledged events stay, with their keys, for the next interval. */
  private void sendPending(VigilClient c, UUID serverId) {
    while (!pending.isEmpty() && !stopping) {
      List<EventDraft> batch = new ArrayList<>();
      for (EventDraft e : pending) {
        if (batch.size() == 100) {
          break;
        }
        batch.add(e);
      }
      try {
        c.sendEvents(batch);
      } catch (VigilException e) {
        if (e.status() >= 400 && e.status() < 500 && e.status() != 429) {
          out.line(name, "events refused and dropped: " + e.getMessage() + " (" + e.code() + ")");
          batch.forEach(x -> pending.pollFirst());
        }
        return;
      }
      batch.forEach(x -> pending.pollFirst());
      eventsAcknowledged.addAndGet(batch.size());
      acknowledged.events(serverId, batch.stream().map(EventDraft::idempotencyKey).toList());
    }
  }

  /** Simulated load: cameras recording, storage filling at 250 kB/s per camera, some jitter. */
  private Load load() {
    long recording = cameraIds.size();
    ThreadLocalRandom r = ThreadLocalRandom.current();
    long elapsed = Duration.ofNanos(System.nanoTime() - startedAt).toSeconds();
    long used = Math.min(DISK_BYTES, (1L << 30) + recording * BYTES_PER_CAMERA_SECOND * elapsed);
    long free = DISK_BYTES - used;
    return new Load(
        Math.min(100.0, 3 + 2.5 * recording + r.nextDouble() * 4),
        Math.min(100.0, 20 + 0.5 * recording + r.nextDouble() * 2),
        List.of(new Load.Disk("D:", free, DISK_BYTES)),
        recording,
        used,
        free,
        recording == 0 ? 0L : r.nextLong(2 * recording + 1));
  }

  private static String seconds(long nanos) {
    return String.format(java.util.Locale.ROOT, "%.1f s", nanos / 1e9);
  }
}
