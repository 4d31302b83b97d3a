package io.vigil.server.http;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.IOException;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Every request body type a route reads, parsed from fuzzed bytes as {@link Json#body} parses it:
 * the only way out is an {@link ApiException} with a 4xx status, a stable code and a message that
 * names no Java type, echoes no long value and can itself be written as JSON.
 *
 * <p>An input is the body type's simple name, a newline and the body; a first line that names no
 * type picks one by its hash, so every mutation of it still reaches a parser. The seeds are in
 * {@code JsonBodyFuzzTestInputs/bodies}.
 */
@Tag("jazzer")
class JsonBodyFuzzTest {

  /**
   * Each body type by its simple name, with what its route does after parsing (such as {@code
   * ResourceBody.definition()}), since that is part of reading the body too.
   */
  static final Map<String, BodyType> TYPES = bodyTypes();

  record BodyType(Class<?> type, String after) {}

  private static Map<String, BodyType> bodyTypes() {
    Map<String, BodyType> types = new LinkedHashMap<>();
    for (String name :
        new String[] {
          "io.vigil.client.NewServer",
          "io.vigil.server.management.ServerRegistry$Change",
          "io.vigil.client.Load",
          "io.vigil.server.management.Devices$NewHardware",
          "io.vigil.server.management.Devices$HardwareChange",
          "io.vigil.server.management.Devices$NewCamera",
          "io.vigil.server.management.Devices$CameraChange",
          "io.vigil.server.management.SiteSettings$Change",
          "io.vigil.server.identity.ManagementRoutes$CreateUser",
          "io.vigil.server.identity.ManagementRoutes$PatchUser",
          "io.vigil.server.identity.ManagementRoutes$SetPassword",
          "io.vigil.server.identity.ManagementRoutes$CreateClient",
          "io.vigil.server.identity.ManagementRoutes$CodeBody",
          "io.vigil.server.identity.external.ExternalProviders$Definition",
          "io.vigil.server.identity.external.ExternalRoutes$PatchProvider",
          "io.vigil.server.identity.external.ExternalRoutes$CreateRule",
          "io.vigil.server.cluster.ClusterRoutes$Maintenance",
          "io.vigil.server.cluster.ClusterRoutes$Move",
          "io.vigil.server.cluster.ClusterRoutes$ResourceBody",
          "io.vigil.server.events.EventInput$Ingest",
          "io.vigil.server.events.AlarmDefinitions$NewDefinition",
          "io.vigil.server.events.AlarmDefinitions$DefinitionChange",
          "io.vigil.server.events.Alarms$Change",
          "io.vigil.server.events.Alarms$NewComment",
          "io.vigil.server.collector.SystemMonitor$TypeThresholdsInput",
          "io.vigil.server.collector.SystemMonitor$ServerThresholdsInput",
          "io.vigil.server.component.ComponentRoutes$CreateToken",
          "io.vigil.server.component.ComponentRoutes$Register"
        }) {
      try {
        Class<?> type = Class.forName(name);
        String after =
            switch (type.getSimpleName()) {
              case "ResourceBody" -> "definition";
              case "Ingest" -> "validated";
              default -> null;
            };
        String key = name.substring(name.lastIndexOf('.') + 1).replace('$', '.');
        types.put(key, new BodyType(type, after));
      } catch (ClassNotFoundException e) {
        throw new AssertionError("A body type of the API is gone: " + name, e);
      }
    }
    return types;
  }

  @FuzzTest(maxDuration = "60s")
  void bodies(byte[] input) {
    int newline = indexOf(input, (byte) '\n');
    String name =
        new String(
            input, 0, newline < 0 ? Math.min(input.length, 64) : newline, StandardCharsets.UTF_8);
    byte[] body = newline < 0 ? input : Arrays.copyOfRange(input, newline + 1, input.length);
    BodyType type = TYPES.get(name);
    if (type == null) {
      type = TYPES.values().stream().toList().get(Math.floorMod(name.hashCode(), TYPES.size()));
    }
    try {
      Object value = Json.parse(body, type.type());
      if (type.after() != null) {
        after(value, type.after());
      }
    } catch (ApiException e) {
      assertRefusal(e, type.type().getName());
    }
  }

  private static void after(Object value, String method) {
    try {
      Method m = value.getClass().getDeclaredMethod(method);
      m.setAccessible(true);
      m.invoke(value);
    } catch (InvocationTargetException e) {
      if (e.getCause() instanceof RuntimeException r) {
        throw r;
      }
      throw new AssertionError(e.getCause());
    } catch (ReflectiveOperationException e) {
      throw new AssertionError(e);
    }
  }

  /**
   * What every refusal of a client's input must look like: 4xx, a code of lower-case words, a
   * message of bounded length that names no Java type and that JSON can carry.
   */
  static void assertRefusal(ApiException e, String target) {
    assertThat(e.status()).as("status for %s: %s", target, e.getMessage()).isBetween(400, 499);
    assertThat(e.code()).as("code for %s", target).matches("[a-z][a-z_]*");
    String message = e.getMessage();
    assertThat(message).as("message for %s", target).isNotBlank();
    assertThat(message.length())
        .as("length of the message for %s: %s", target, Text.excerpt(message))
        .isLessThanOrEqualTo(1024);
    assertThat(message)
        .as("message for %s", target)
        .doesNotContain("java.", "com.fasterxml", "io.vigil", "Exception", "jackson");
    assertThat(Text.notText(message)).as("message for %s: %s", target, message).isNull();
    try {
      Json.MAPPER.writeValueAsBytes(new ErrorBody(e.code(), message));
    } catch (IOException io) {
      throw new AssertionError("the error for " + target + " cannot be written as JSON", io);
    }
  }

  private static int indexOf(byte[] bytes, byte b) {
    for (int i = 0; i < bytes.length; i++) {
      if (bytes[i] == b) {
        return i;
      }
    }
    return -1;
  }

  private static final Pattern BODY_CALL =
      Pattern.compile("Json\\.body\\(ctx, ([\\w.]+)\\.class\\)");

  /** A route that reads a new body type must add it here, or it would go unfuzzed. */
  @Test
  void everyBodyTypeTheRoutesReadIsFuzzed() throws IOException {
    Path main = Path.of("src/main/java");
    Set<String> read = new TreeSet<>();
    try (Stream<Path> files = Files.walk(main)) {
      for (Path file : files.filter(f -> f.toString().endsWith(".java")).toList()) {
        Matcher m = BODY_CALL.matcher(Files.readString(file));
        while (m.find()) {
          String type = m.group(1);
          // A top-level class (such as the SDK's Load) is known by its simple name.
          read.add(
              type.contains(".") || TYPES.containsKey(type) ? type : enclosing(file) + "." + type);
        }
      }
    }
    assertThat(read).isNotEmpty();
    assertThat(TYPES.keySet()).containsAll(read);
  }

  private static String enclosing(Path file) {
    String name = file.getFileName().toString();
    return name.substring(0, name.length() - ".java".length());
  }
}
