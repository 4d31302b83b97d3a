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
 * Posts events as fast as the node takes them: {@code java bench/EventLoad.java URL SECONDS
 * CONNECTIONS BATCH RUN}. Each of CONNECTIONS virtual threads sends one {@code POST
 * /api/v1/events} after another until SECONDS have passed (a closed loop, like LoadGen). A post
 * carries BATCH events (1: the single-event body; more: {@code {"events": [...]}}), each with an
 * idempotency key unique in the run (RUN names the run, so runs against one database never
 * collide). One event in ten has type {@code bench.motion}, the type the script's alarm definition
 * matches; the others {@code bench.tick}. Sources are {@code external:bench-N}, N from 0 to 99, so
 * that alarms are raised and counted for 100 sources. The bearer token comes from
 * BENCH_AUTHORIZATION. Prints LoadGen's "BENCH key=value ..." line (latencies in microseconds, a
 * request being one post), with events=N added; a post answered 201 is a success.
 */
public final class EventLoad {

  public static void main(String[] args) throws Exception {
    if (args.length != 5) {
      System.err.println("usage: java EventLoad.java URL SECONDS CONNECTIONS BATCH RUN");
      System.exit(2);
    }
    URI uri = URI.create(args[0]);
    Duration duration = Duration.ofSeconds(Long.parseLong(args[1]));
    int connections = Integer.parseInt(args[2]);
    int batch = Integer.parseInt(args[3]);
    String run = args[4];
    String authorization = System.getenv("BENCH_AUTHORIZATION");

    HttpClient client =
        HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(10))
            .build();
    AtomicLong sequence = new AtomicLong();
    AtomicLong non201 = new AtomicLong();
    AtomicLong socketErrors = new AtomicLong();
    AtomicLong events = new AtomicLong();
    String[] firstBad = {""};
    List<long[]> perThread = new ArrayList<>();
    int[] counts = new int[connections];

    long start = System.nanoTime();
    long end = start + duration.toNanos();
    List<Thread> threads = new ArrayList<>();
    for (int i = 0; i < connections; i++) {
      perThread.add(new long[1 << 14]);
      int index = i;
      threads.add(
          Thread.ofVirtual()
              .start(
                  () -> {
                    long[] mine = perThread.get(index);
                    int n = 0;
                    while (System.nanoTime() < end) {
                      String body = body(run, sequence, batch);
                      HttpRequest.Builder b =
                          HttpRequest.newBuilder(uri)
                              .timeout(Duration.ofSeconds(10))
                              .header("Content-Type", "application/json")
                              .POST(HttpRequest.BodyPublishers.ofString(body));
                      if (authorization != null) {
                        b.header("Authorization", authorization);
                      }
                      long t0 = System.nanoTime();
                      try {
                        HttpResponse<String> response =
                            client.send(b.build(), HttpResponse.BodyHandlers.ofString());
                        long micros = (System.nanoTime() - t0) / 1000;
                        if (n == mine.length) {
                          mine = Arrays.copyOf(mine, mine.length * 2);
                        }
                        mine[n++] = micros;
                        if (response.statusCode() == 201) {
                          events.addAndGet(batch);
                        } else {
                          non201.incrementAndGet();
                          synchronized (firstBad) {
                            if (firstBad[0].isEmpty()) {
                              firstBad[0] = Integer.toString(response.statusCode());
                              System.err.println(
                                  "first refused post: "
                                      + response.statusCode()
                                      + " "
                                      + response.body());
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
                      counts[index] = n;
                    }
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
      System.arraycopy(perThread.get(i), 0, all, at, counts[i]);
      at += counts[i];
    }
    Arrays.sort(all);
    double mean = total == 0 ? 0 : Arrays.stream(all).average().orElse(0);
    System.out.printf(
        "BENCH requests=%d duration_us=%d mean_us=%.1f p50_us=%d p99_us=%d max_us=%d non200=%d"
            + " socket_errors=%d first_bad_status=%s events=%d%n",
        total,
        elapsedMicros,
        mean,
        percentile(all, 50),
        percentile(all, 99),
        total == 0 ? 0 : all[total - 1],
        non201.get(),
        socketErrors.get(),
        firstBad[0],
        events.get());
  }

  private static String body(String run, AtomicLong sequence, int batch) {
    StringBuilder sb = new StringBuilder(batch * 160);
    if (batch > 1) {
      sb.append("{\"events\":[");
    }
    for (int i = 0; i < batch; i++) {
      long n = sequence.getAndIncrement();
      if (i > 0) {
        sb.append(',');
      }
      sb.append("{\"type\":\"")
          .append(n % 10 == 0 ? "bench.motion" : "bench.tick")
          .append("\",\"source\":\"external:bench-")
          .append(n % 100)
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
    if (batch > 1) {
      sb.append("]}");
    }
    return sb.toString();
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
