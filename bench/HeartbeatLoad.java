import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Simulates components that heartbeat: {@code java bench/HeartbeatLoad.java URL COUNT INTERVAL
 * SECONDS RUN}. Registers COUNT recording servers (names {@code hb-RUN-N}, heartbeat interval
 * INTERVAL seconds; 8 registrations at a time), then sends each one's heartbeat with load figures
 * every INTERVAL seconds, the servers spread evenly over the interval (an open loop: a slow answer
 * does not delay the next heartbeat). The first round brings every server online; then it prints
 * {@code MEASURE start} and, SECONDS later, {@code MEASURE end} and one line {@code BENCH
 * heartbeats=N non2xx=N socket_errors=N p50_us=N p99_us=N max_us=N} for the heartbeats sent in
 * between, so that a script can sample the node and the database between the two marks. The bearer
 * token comes from BENCH_AUTHORIZATION.
 */
public final class HeartbeatLoad {

  private static final Pattern ID = Pattern.compile("\"id\"\\s*:\\s*\"([^\"]+)\"");

  public static void main(String[] args) throws Exception {
    if (args.length != 5) {
      System.err.println("usage: java HeartbeatLoad.java URL COUNT INTERVAL SECONDS RUN");
      System.exit(2);
    }
    String base = args[0];
    int count = Integer.parseInt(args[1]);
    int interval = Integer.parseInt(args[2]);
    int seconds = Integer.parseInt(args[3]);
    String run = args[4];
    String authorization = System.getenv("BENCH_AUTHORIZATION");
    HttpClient client =
        HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(10))
            .executor(Executors.newVirtualThreadPerTaskExecutor())
            .build();

    // Registration, 8 at a time.
    String[] ids = new String[count];
    Semaphore slots = new Semaphore(8);
    List<Thread> threads = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      int n = i;
      slots.acquire();
      threads.add(
          Thread.ofVirtual()
              .start(
                  () -> {
                    try {
                      String body =
                          "{\"name\":\"hb-"
                              + run
                              + "-"
                              + n
                              + "\",\"type\":\"recording-server\",\"address\":\"http://10.1."
                              + (n / 250)
                              + "."
                              + (n % 250 + 1)
                              + ":7563\",\"version\":\"1.0\",\"heartbeatIntervalSeconds\":"
                              + interval
                              + "}";
                      HttpResponse<String> r =
                          client.send(
                              post(base + "/api/v1/servers", body, authorization),
                              HttpResponse.BodyHandlers.ofString());
                      Matcher m = ID.matcher(r.body());
                      if (r.statusCode() != 201 || !m.find()) {
                        System.err.println("registration refused: " + r.statusCode() + " " + r.body());
                        System.exit(1);
                      }
                      ids[n] = m.group(1);
                    } catch (Exception e) {
                      System.err.println("registration failed: " + e);
                      System.exit(1);
                    } finally {
                      slots.release();
                    }
                  }));
    }
    for (Thread t : threads) {
      t.join();
    }
    System.out.println("registered " + count);

    AtomicLong measuring = new AtomicLong(0); // 0 before, 1 during, 2 after
    AtomicLong sent = new AtomicLong();
    AtomicLong bad = new AtomicLong();
    AtomicLong socketErrors = new AtomicLong();
    long[][] latencies = {new long[1 << 16]};
    int[] recorded = {0};
    String[] firstBad = {""};
    ScheduledExecutorService timer = Executors.newScheduledThreadPool(2);
    long spreadMicros = interval * 1_000_000L / Math.max(1, count);
    for (int i = 0; i < count; i++) {
      String id = ids[i];
      int n = i;
      timer.scheduleAtFixedRate(
          () ->
              Thread.ofVirtual()
                  .start(
                      () -> {
                        long t0 = System.nanoTime();
                        boolean counted = measuring.get() == 1;
                        try {
                          String body =
                              "{\"cpuPercent\":"
                                  + (20 + n % 30)
                                  + ",\"memoryPercent\":"
                                  + (40 + n % 20)
                                  + ",\"disks\":[{\"volume\":\"/\",\"freeBytes\":500000000000,"
                                  + "\"totalBytes\":1000000000000}],\"camerasRecording\":16,"
                                  + "\"storageUsedBytes\":400000000000,"
                                  + "\"storageFreeBytes\":600000000000,\"streamsServed\":3}";
                          HttpResponse<String> r =
                              client.send(
                                  post(
                                      base + "/api/v1/servers/" + id + "/heartbeat",
                                      body,
                                      authorization),
                                  HttpResponse.BodyHandlers.ofString());
                          long micros = (System.nanoTime() - t0) / 1000;
                          if (counted) {
                            sent.incrementAndGet();
                            synchronized (latencies) {
                              if (recorded[0] == latencies[0].length) {
                                latencies[0] = Arrays.copyOf(latencies[0], recorded[0] * 2);
                              }
                              latencies[0][recorded[0]++] = micros;
                            }
                            if (r.statusCode() / 100 != 2) {
                              bad.incrementAndGet();
                              synchronized (firstBad) {
                                if (firstBad[0].isEmpty()) {
                                  firstBad[0] = r.statusCode() + " " + r.body();
                                  System.err.println("first refused heartbeat: " + firstBad[0]);
                                }
                              }
                            }
                          }
                        } catch (java.io.IOException e) {
                          if (counted) {
                            sent.incrementAndGet();
                            socketErrors.incrementAndGet();
                          }
                        } catch (InterruptedException e) {
                          Thread.currentThread().interrupt();
                        }
                      }),
          n * spreadMicros,
          interval * 1_000_000L,
          TimeUnit.MICROSECONDS);
    }
    // One whole round first: every server's first heartbeat brings it online (the longer path).
    Thread.sleep(interval * 1000L + 1000);
    measuring.set(1);
    System.out.println("MEASURE start");
    Thread.sleep(seconds * 1000L);
    measuring.set(2);
    System.out.println("MEASURE end");
    timer.shutdownNow();
    long[] all;
    synchronized (latencies) {
      all = Arrays.copyOf(latencies[0], recorded[0]);
    }
    Arrays.sort(all);
    System.out.printf(
        "BENCH heartbeats=%d non2xx=%d socket_errors=%d p50_us=%d p99_us=%d max_us=%d%n",
        sent.get(),
        bad.get(),
        socketErrors.get(),
        percentile(all, 50),
        percentile(all, 99),
        all.length == 0 ? 0 : all[all.length - 1]);
    System.exit(0);
  }

  private static HttpRequest post(String url, String body, String authorization) {
    HttpRequest.Builder b =
        HttpRequest.newBuilder(URI.create(url))
            .timeout(Duration.ofSeconds(10))
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(body));
    if (authorization != null) {
      b.header("Authorization", authorization);
    }
    return b.build();
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
