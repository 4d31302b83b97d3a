import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Load generator used by the benchmark scripts when wrk is not available: {@code java
 * bench/LoadGen.java URL SECONDS CONNECTIONS}. Each of CONNECTIONS virtual threads sends one
 * request after another until SECONDS have passed (a closed loop, like wrk). The request comes from
 * the same BENCH_METHOD, BENCH_BODY, BENCH_CONTENT_TYPE, BENCH_AUTHORIZATION, BENCH_IF_NONE_MATCH
 * and BENCH_STATUS (the status expected, default 200) variables as wrk-report.lua, and the result is printed as the same "BENCH key=value ..." line, latencies in
 * microseconds.
 *
 * <p>Differences from wrk worth knowing: the JDK client adds its own overhead per request, so
 * figures are lower than wrk's on the same node; and the client's connection pool, not this class,
 * decides how many TCP connections carry the CONNECTIONS concurrent requests.
 */
public final class LoadGen {

  public static void main(String[] args) throws Exception {
    if (args.length != 3) {
      System.err.println("usage: java LoadGen.java URL SECONDS CONNECTIONS");
      System.exit(2);
    }
    URI uri = URI.create(args[0]);
    Duration duration = Duration.ofSeconds(Long.parseLong(args[1]));
    int connections = Integer.parseInt(args[2]);
    HttpRequest request = request(uri);

    HttpClient client =
        HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(10))
            .build();
    AtomicLong non200 = new AtomicLong();
    AtomicLong socketErrors = new AtomicLong();
    List<long[]> perThread = new ArrayList<>();
    List<Integer> counts = new ArrayList<>();
    String[] firstBad = {""};

    long start = System.nanoTime();
    long end = start + duration.toNanos();
    List<Thread> threads = new ArrayList<>();
    for (int i = 0; i < connections; i++) {
      long[] latencies = new long[1 << 16];
      perThread.add(latencies);
      counts.add(0);
      int index = i;
      threads.add(
          Thread.ofVirtual()
              .start(
                  () -> {
                    long[] mine = latencies;
                    int n = 0;
                    while (System.nanoTime() < end) {
                      long t0 = System.nanoTime();
                      try {
                        HttpResponse<byte[]> response =
                            client.send(request, HttpResponse.BodyHandlers.ofByteArray());
                        long micros = (System.nanoTime() - t0) / 1000;
                        if (n == mine.length) {
                          mine = Arrays.copyOf(mine, mine.length * 2);
                        }
                        mine[n++] = micros;
                        if (response.statusCode() != EXPECTED) {
                          non200.incrementAndGet();
                          synchronized (firstBad) {
                            if (firstBad[0].isEmpty()) {
                              firstBad[0] = Integer.toString(response.statusCode());
                            }
                          }
                        }
                      } catch (java.io.IOException e) {
                        socketErrors.incrementAndGet();
                      } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        break;
                      }
                    }
                    synchronized (perThread) {
                      perThread.set(index, mine);
                      counts.set(index, n);
                    }
                  }));
    }
    for (Thread t : threads) {
      t.join();
    }
    long elapsedMicros = (System.nanoTime() - start) / 1000;

    int total = counts.stream().mapToInt(Integer::intValue).sum();
    long[] all = new long[total];
    int at = 0;
    for (int i = 0; i < connections; i++) {
      System.arraycopy(perThread.get(i), 0, all, at, counts.get(i));
      at += counts.get(i);
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

  private static final int EXPECTED = Integer.parseInt(env("BENCH_STATUS", "200"));

  private static HttpRequest request(URI uri) {
    String method = env("BENCH_METHOD", "GET");
    String body = env("BENCH_BODY", null);
    HttpRequest.Builder builder =
        HttpRequest.newBuilder(uri)
            .timeout(Duration.ofSeconds(10))
            .method(
                method,
                body == null
                    ? HttpRequest.BodyPublishers.noBody()
                    : HttpRequest.BodyPublishers.ofString(body));
    String contentType = env("BENCH_CONTENT_TYPE", null);
    if (contentType != null) {
      builder.header("Content-Type", contentType);
    }
    String authorization = env("BENCH_AUTHORIZATION", null);
    if (authorization != null) {
      builder.header("Authorization", authorization);
    }
    String ifNoneMatch = env("BENCH_IF_NONE_MATCH", null);
    if (ifNoneMatch != null) {
      builder.header("If-None-Match", ifNoneMatch);
    }
    return builder.build();
  }

  /** Nearest-rank percentile of sorted values; 0 when there are none. */
  private static long percentile(long[] sorted, int p) {
    if (sorted.length == 0) {
      return 0;
    }
    int rank = (int) Math.ceil(p / 100.0 * sorted.length);
    return sorted[Math.max(0, rank - 1)];
  }

  private static String env(String name, String fallback) {
    String value = System.getenv(name);
    return value == null || value.isEmpty() ? fallback : value;
  }
}
