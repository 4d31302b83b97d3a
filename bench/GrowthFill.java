import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.LongFunction;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Fills a site through the management API, and measures camera updates, for {@code growth.sh}.
 *
 * <p>{@code java bench/GrowthFill.java fill URL STATE_DIR CONNECTIONS SERVERS EVENTS RUN} grows
 * the site to SERVERS recording servers ({@code POST /api/v1/servers}), one hardware device per
 * server ({@code POST /api/v1/hardware}), ten cameras per device ({@code POST /api/v1/cameras},
 * channels 0-9) and EVENTS events ({@code POST /api/v1/events}, 100 per post, each with an
 * idempotency key, all of a post from one server, the posts spread over the servers; one in ten of type {@code bench.motion},
 * the others {@code bench.tick}). What exists already is read from STATE_DIR ({@code
 * servers.txt}, {@code hardware.txt}, {@code cameras.txt}: one id a line, hardware line i on server
 * line i; {@code events.txt}: the count), so each call adds only the difference. CONNECTIONS
 * virtual threads post at once. The admin password comes from VIGIL_ADMIN_PASSWORD; a token is
 * taken with the password grant and taken again when a post is answered 401. Prints one line per
 * kind: "FILL kind=… added=… seconds=… per_second=…". Any refused post stops the fill (exit 1)
 * after printing its answer.
 *
 * <p>{@code java bench/GrowthFill.java patch URL SECONDS CONNECTIONS CAMERA_IDS_FILE} updates
 * cameras for SECONDS: each of CONNECTIONS virtual threads owns one camera (taken from the middle
 * of the file), reads it once for its ETag and then sends {@code PATCH /api/v1/cameras/{id}} with
 * {@code If-Match} set to the ETag of its previous answer, toggling {@code enabled} (a closed loop).
 * The bearer token comes from BENCH_AUTHORIZATION. Prints LoadGen's "BENCH key=value ..." line
 * (latencies in microseconds); a PATCH answered 200 is a success.
 */
public final class GrowthFill {

  private static final Pattern ID = Pattern.compile("\"id\"\\s*:\\s*\"([0-9a-fA-F-]{36})\"");
  private static final Pattern TOKEN = Pattern.compile("\"access_token\"\\s*:\\s*\"([^\"]+)\"");
  private static final int BATCH = 100;
  private static final int CAMERAS_PER_HARDWARE = 10;

  private static HttpClient client;
  private static String base;
  private static final AtomicReference<String> token = new AtomicReference<>("");

  public static void main(String[] args) throws Exception {
    client =
        HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(10))
            .build();
    if (args.length == 7 && args[0].equals("fill")) {
      base = args[1].replaceAll("/+$", "");
      fill(
          Path.of(args[2]),
          Integer.parseInt(args[3]),
          Integer.parseInt(args[4]),
          Long.parseLong(args[5]),
          args[6]);
    } else if (args.length == 5 && args[0].equals("patch")) {
      base = args[1].replaceAll("/+$", "");
      patch(Long.parseLong(args[2]), Integer.parseInt(args[3]), Path.of(args[4]));
    } else {
      System.err.println(
          "usage: java GrowthFill.java fill URL STATE_DIR CONNECTIONS SERVERS EVENTS RUN\n"
              + "       java GrowthFill.java patch URL SECONDS CONNECTIONS CAMERA_IDS_FILE");
      System.exit(2);
    }
  }

  // ---- fill

  private static void fill(Path state, int connections, int servers, long events, String run)
      throws Exception {
    String password = System.getenv("VIGIL_ADMIN_PASSWORD");
    if (password == null || password.isEmpty()) {
      throw new IllegalStateException("VIGIL_ADMIN_PASSWORD is not set");
    }
    Files.createDirectories(state);
    List<String> serverIds = lines(state.resolve("servers.txt"));
    List<String> hardwareIds = lines(state.resolve("hardware.txt"));
    List<String> cameraIds = lines(state.resolve("cameras.txt"));
    Path eventsFile = state.resolve("events.txt");
    long eventsBefore =
        Files.exists(eventsFile) ? Long.parseLong(Files.readString(eventsFile).trim()) : 0;
    refreshToken(password);

    int s0 = serverIds.size();
    String[] newServers =
        post(
            "servers",
            "/api/v1/servers",
            s0,
            servers,
            connections,
            password,
            i ->
                String.format(
                    "{\"name\":\"srv-%06d\",\"type\":\"recording-server\","
                        + "\"address\":\"http://10.%d.%d.%d:7563\",\"version\":\"1.0\"}",
                    i,
                    (i >> 16) & 255,
                    (i >> 8) & 255,
                    i & 255));
    serverIds.addAll(Arrays.asList(newServers));
    append(state.resolve("servers.txt"), newServers);

    int h0 = hardwareIds.size();
    List<String> serversNow = serverIds;
    String[] newHardware =
        post(
            "hardware",
            "/api/v1/hardware",
            h0,
            serverIds.size(),
            connections,
            password,
            i ->
                String.format(
                    "{\"name\":\"hw-%06d\",\"recordingServerId\":\"%s\","
                        + "\"address\":\"http://10.%d.%d.%d:80\",\"model\":\"bench\"}",
                    i,
                    serversNow.get((int) i),
                    100 + ((i >> 16) & 127),
                    (i >> 8) & 255,
                    i & 255));
    hardwareIds.addAll(Arrays.asList(newHardware));
    append(state.resolve("hardware.txt"), newHardware);

    int c0 = cameraIds.size();
    List<String> hardwareNow = hardwareIds;
    String[] newCameras =
        post(
            "cameras",
            "/api/v1/cameras",
            c0,
            hardwareIds.size() * CAMERAS_PER_HARDWARE,
            connections,
            password,
            i ->
                String.format(
                    "{\"name\":\"cam-%07d\",\"hardwareId\":\"%s\",\"channel\":%d}",
                    i,
                    hardwareNow.get((int) (i / CAMERAS_PER_HARDWARE)),
                    i % CAMERAS_PER_HARDWARE));
    append(state.resolve("cameras.txt"), newCameras);

    // Events in posts of BATCH: post p carries events p*BATCH .. p*BATCH+BATCH-1.
    long p0 = eventsBefore / BATCH;
    long p1 = Math.max(p0, events / BATCH);
    post(
        "events",
        "/api/v1/events",
        p0,
        p1,
        connections,
        password,
        p -> {
          // One source a post (fewer source checks), the posts spread over the servers.
          String source = serversNow.get((int) (p % serversNow.size()));
          StringBuilder sb = new StringBuilder(BATCH * 200).append("{\"events\":[");
          for (long n = p * BATCH; n < (p + 1) * BATCH; n++) {
            if (n > p * BATCH) {
              sb.append(',');
            }
            sb.append("{\"type\":\"")
                .append(n % 10 == 0 ? "bench.motion" : "bench.tick")
                .append("\",\"source\":\"")
                .append(source)
                .append("\",\"severity\":\"info\",\"message\":\"event ")
                .append(n)
                .append("\",\"data\":{\"n\":")
                .append(n)
                .append("},\"idempotencyKey\":\"")
                .append(run)
                .append('-')
                .append(n)
                .append("\"}");
          }
          return sb.append("]}").toString();
        });
    Files.writeString(eventsFile, Long.toString(p1 * BATCH) + "\n");
  }

  /**
   * Posts the bodies of indexes from..to-1 with CONNECTIONS virtual threads; returns the ids the
   * answers carry (null entries for answers without one), in index order.
   */
  private static String[] post(
      String kind,
      String path,
      long from,
      long to,
      int connections,
      String password,
      LongFunction<String> body)
      throws Exception {
    int count = (int) Math.max(0, to - from);
    String[] ids = new String[count];
    AtomicLong next = new AtomicLong(from);
    AtomicReference<String> failure = new AtomicReference<>();
    URI uri = URI.create(base + path);
    long start = System.nanoTime();
    List<Thread> threads = new ArrayList<>();
    for (int t = 0; t < Math.min(connections, Math.max(1, count)); t++) {
      threads.add(
          Thread.ofVirtual()
              .start(
                  () -> {
                    long i;
                    while (failure.get() == null && (i = next.getAndIncrement()) < to) {
                      String json = body.apply(i);
                      try {
                        HttpResponse<String> r = send(uri, "POST", json, null);
                        if (r.statusCode() == 401) {
                          refreshToken(password);
                          r = send(uri, "POST", json, null);
                        }
                        if (r.statusCode() != 201) {
                          failure.compareAndSet(
                              null,
                              "POST " + path + " #" + i + " answered " + r.statusCode() + ": "
                                  + r.body());
                          break;
                        }
                        Matcher m = ID.matcher(r.body());
                        ids[(int) (i - from)] = m.find() ? m.group(1) : null;
                      } catch (IOException | InterruptedException e) {
                        failure.compareAndSet(null, "POST " + path + " #" + i + " failed: " + e);
                        break;
                      }
                    }
                  }));
    }
    for (Thread t : threads) {
      t.join();
    }
    double seconds = (System.nanoTime() - start) / 1e9;
    if (failure.get() != null) {
      System.err.println("fill stopped: " + failure.get());
      System.exit(1);
    }
    long added = kind.equals("events") ? (long) count * BATCH : count;
    System.out.printf(
        "FILL kind=%s added=%d seconds=%.1f per_second=%.0f%n",
        kind, added, seconds, seconds > 0 ? added / seconds : 0);
    return ids;
  }

  private static HttpResponse<String> send(URI uri, String method, String json, String ifMatch)
      throws IOException, InterruptedException {
    HttpRequest.Builder b =
        HttpRequest.newBuilder(uri)
            .timeout(Duration.ofSeconds(60))
            .header("Content-Type", "application/json")
            .header("Authorization", "Bearer " + token.get())
            .method(method, HttpRequest.BodyPublishers.ofString(json));
    if (ifMatch != null) {
      b.header("If-Match", ifMatch);
    }
    return client.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  private static synchronized void refreshToken(String password) {
    String form =
        "grant_type=password&client_id=vigil-cli&username=admin&scope="
            + URLEncoder.encode("openid vigil.api", StandardCharsets.UTF_8)
            + "&password="
            + URLEncoder.encode(password, StandardCharsets.UTF_8);
    try {
      HttpResponse<String> r =
          client.send(
              HttpRequest.newBuilder(URI.create(base + "/idp/connect/token"))
                  .timeout(Duration.ofSeconds(30))
                  .header("Content-Type", "application/x-www-form-urlencoded")
                  .POST(HttpRequest.BodyPublishers.ofString(form))
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      Matcher m = TOKEN.matcher(r.body());
      if (r.statusCode() != 200 || !m.find()) {
        throw new IllegalStateException(
            "the password grant answered " + r.statusCode() + ": " + r.body());
      }
      token.set(m.group(1));
    } catch (IOException | InterruptedException e) {
      throw new IllegalStateException("the password grant failed: " + e, e);
    }
  }

  private static List<String> lines(Path file) throws IOException {
    return Files.exists(file)
        ? new ArrayList<>(Files.readAllLines(file).stream().filter(l -> !l.isBlank()).toList())
        : new ArrayList<>();
  }

  private static void append(Path file, String[] ids) throws IOException {
    StringBuilder sb = new StringBuilder();
    for (String id : ids) {
      sb.append(id).append('\n');
    }
    Files.writeString(
        file, sb, StandardOpenOption.CREATE, StandardOpenOption.APPEND, StandardOpenOption.WRITE);
  }

  // ---- patch

  private static void patch(long seconds, int connections, Path cameraFile) throws Exception {
    String authorization = System.getenv("BENCH_AUTHORIZATION");
    token.set(authorization == null ? "" : authorization.replaceFirst("^Bearer ", ""));
    List<String> cameras = lines(cameraFile);
    if (cameras.size() < connections) {
      throw new IllegalStateException("fewer cameras than connections in " + cameraFile);
    }
    int first = cameras.size() / 2 - connections / 2;
    AtomicLong non200 = new AtomicLong();
    AtomicLong socketErrors = new AtomicLong();
    String[] firstBad = {""};
    long[][] perThread = new long[connections][];
    int[] counts = new int[connections];
    long start = System.nanoTime();
    long end = start + seconds * 1_000_000_000L;
    List<Thread> threads = new ArrayList<>();
    for (int t = 0; t < connections; t++) {
      int index = t;
      URI uri = URI.create(base + "/api/v1/cameras/" + cameras.get(first + t));
      threads.add(
          Thread.ofVirtual()
              .start(
                  () -> {
                    long[] mine = new long[1 << 14];
                    int n = 0;
                    String etag = null;
                    boolean enabled = false;
                    while (System.nanoTime() < end) {
                      try {
                        if (etag == null) {
                          HttpRequest get =
                              HttpRequest.newBuilder(uri)
                                  .timeout(Duration.ofSeconds(10))
                                  .header("Authorization", "Bearer " + token.get())
                                  .build();
                          etag =
                              client
                                  .send(get, HttpResponse.BodyHandlers.ofString())
                                  .headers()
                                  .firstValue("ETag")
                                  .orElse(null);
                          if (etag == null) {
                            non200.incrementAndGet();
                            break;
                          }
                        }
                        long t0 = System.nanoTime();
                        HttpResponse<String> r =
                            send(uri, "PATCH", "{\"enabled\":" + enabled + "}", etag);
                        long micros = (System.nanoTime() - t0) / 1000;
                        if (n == mine.length) {
                          mine = Arrays.copyOf(mine, mine.length * 2);
                        }
                        mine[n++] = micros;
                        enabled = !enabled;
                        if (r.statusCode() == 200) {
                          etag = r.headers().firstValue("ETag").orElse(null);
                        } else {
                          non200.incrementAndGet();
                          etag = null;
                          synchronized (firstBad) {
                            if (firstBad[0].isEmpty()) {
                              firstBad[0] = Integer.toString(r.statusCode());
                              System.err.println(
                                  "first refused PATCH: " + r.statusCode() + " " + r.body());
                            }
                          }
                        }
                      } catch (IOException e) {
                        socketErrors.incrementAndGet();
                        etag = null;
                      } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        break;
                      }
                    }
                    perThread[index] = mine;
                    counts[index] = n;
                  }));
    }
    for (Thread t : threads) {
      t.join();
    }
    long elapsedMicros = (System.nanoTime() - start) / 1000;
    int total = Arrays.stream(counts).sum();
    long[] all = new long[total];
    int at = 0;
    for (int i = 0; i < connections; i++) {
      System.arraycopy(perThread[i], 0, all, at, counts[i]);
      at += counts[i];
    }
    Arrays.sort(all);
    double mean = total == 0 ? 0 : Arrays.stream(all).average().orElse(0);
    System.out.printf(
        "BENCH requests=%d duration_us=%d mean_us=%.1f p50_us=%d p99_us=%d max_us=%d non200=%d"
            + " socket_errors=%d first_bad_status=%s%n",
        total,
        elapsedMicros,
        mean,
        percentile(all, 50),
        percentile(all, 99),
        total == 0 ? 0 : all[total - 1],
        non200.get(),
        socketErrors.get(),
        firstBad[0]);
  }

  /** Nearest-rank percentile of sorted values; 0 when there are none. */
  private static long percentile(long[] sorted, int p) {
    if (sorted.length == 0) {
      return 0;
    }
    int rank = (int) Math.ceil(p / 100.0 * sorted.length);
    return sorted[Math.max(0, rank - 1)];
  }
}
