package io.vigil.server.node;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.core.JsonPointer;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.vigil.server.config.SettingsLoader;
import io.vigil.server.http.Json;
import io.vigil.server.http.RouteInfo;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Keeps {@code docs/openapi.json} true to the code: a real node starts in-process, and its route
 * table under {@code /api/v1} must match the document's operations exactly, with the same
 * permissions, and every {@code $ref} in the document must resolve.
 */
class OpenApiDocumentTest {

  static final String API_PREFIX = "/api/v1/";
  static final Set<String> HTTP_METHODS =
      Set.of("get", "put", "post", "delete", "options", "head", "patch", "trace");
  static final Pattern TEMPLATE_PARAMETER = Pattern.compile("\\{([^}/]+)}");

  @TempDir static Path dataDir;

  static Node node;
  static Path documentFile;
  static JsonNode document;

  @BeforeAll
  static void startNodeAndReadDocument() throws IOException {
    var settings =
        SettingsLoader.load(
            dataDir,
            Map.of(
                "VIGIL_ADMIN_PASSWORD",
                "correct-horse-battery",
                "VIGIL_MACHINE_KEY_FILE",
                dataDir.resolve("machine.key").toString()),
            new SettingsLoader.Overrides(dataDir, 0, "127.0.0.1"));
    node = Node.start(settings);
    documentFile = repositoryRoot().resolve("docs").resolve("openapi.json");
    // Json.MAPPER also rejects duplicate keys, which plain JSON parsers silently merge.
    document = Json.MAPPER.readTree(Files.readAllBytes(documentFile));
  }

  @AfterAll
  static void stopNode() {
    if (node != null) {
      node.close();
    }
  }

  @Test
  void everyApiRouteIsAnOperationAndEveryOperationIsARoute() {
    assertThat(document.path("openapi").asText()).startsWith("3.1");
    List<String> problems = routeDifferences(apiRoutes(), document);
    assertThat(problems).withFailMessage(() -> report(problems)).isEmpty();
  }

  @Test
  void eachOperationNamesThePermissionItsRouteRequires() {
    List<String> problems = permissionDifferences(apiRoutes(), document);
    assertThat(problems).withFailMessage(() -> report(problems)).isEmpty();
  }

  @Test
  void everyReferenceResolves() {
    List<String> problems = unresolvedReferences(document);
    assertThat(problems).withFailMessage(() -> report(problems)).isEmpty();
  }

  @Test
  void operationIdsAreUniqueAndEveryPathParameterIsDeclared() {
    List<String> problems = new ArrayList<>();
    Map<String, String> operationIds = new TreeMap<>();
    document
        .path("paths")
        .properties()
        .forEach(
            path -> {
              Set<String> inTemplate = new TreeSet<>();
              Matcher m = TEMPLATE_PARAMETER.matcher(path.getKey());
              while (m.find()) {
                inTemplate.add(m.group(1));
              }
              Set<String> pathLevel = pathParameters(path.getValue().path("parameters"));
              operations(path.getKey(), path.getValue())
                  .forEach(
                      (operation, node) -> {
                        String id = node.path("operationId").asText("");
                        if (id.isEmpty()) {
                          problems.add(operation + " has no operationId");
                        } else {
                          String first = operationIds.putIfAbsent(id, operation);
                          if (first != null) {
                            problems.add(
                                operation + " reuses operationId \"" + id + "\" of " + first);
                          }
                        }
                        Set<String> declared = new TreeSet<>(pathLevel);
                        declared.addAll(pathParameters(node.path("parameters")));
                        if (!declared.equals(inTemplate)) {
                          problems.add(
                              operation
                                  + " declares path parameters "
                                  + declared
                                  + " but its template has "
                                  + inTemplate);
                        }
                      });
            });
    assertThat(problems).withFailMessage(() -> report(problems)).isEmpty();
  }

  /** Guards the guard: the comparison names an operation that the document lost. */
  @Test
  void aDocumentWithoutAnOperationIsReportedAsMissingThatRoute() {
    ObjectNode copy = document.deepCopy();
    ((ObjectNode) copy.path("paths").path("/api/v1/servers/{id}")).remove("patch");
    ((ObjectNode) copy.path("paths").path("/api/v1/site").path("get"))
        .put("x-vigil-permission", "SETTINGS_WRITE");
    ((ObjectNode) copy.path("paths"))
        .putObject("/api/v1/nowhere")
        .putObject("get")
        .put("x-vigil-permission", "SERVERS_READ");

    assertThat(routeDifferences(apiRoutes(), copy))
        .containsExactly(
            "missing from the document: PATCH /api/v1/servers/{id}",
            "in the document but not a route: GET /api/v1/nowhere");
    assertThat(permissionDifferences(apiRoutes(), copy))
        .containsExactly(
            "GET /api/v1/site: x-vigil-permission is SETTINGS_WRITE, the route requires"
                + " SETTINGS_READ");
  }

  // ---- comparisons

  static List<RouteInfo> apiRoutes() {
    return node.http().routes().stream().filter(r -> r.path().startsWith(API_PREFIX)).toList();
  }

  /** One line per route missing from the document and per operation that is no route. */
  static List<String> routeDifferences(List<RouteInfo> routes, JsonNode doc) {
    Set<String> fromRoutes = new TreeSet<>();
    routes.forEach(r -> fromRoutes.add(key(r.method(), r.path())));
    Set<String> fromDocument = documentOperations(doc).keySet();
    List<String> problems = new ArrayList<>();
    fromRoutes.stream()
        .filter(k -> !fromDocument.contains(k))
        .forEach(k -> problems.add("missing from the document: " + k));
    fromDocument.stream()
        .filter(k -> !fromRoutes.contains(k))
        .forEach(k -> problems.add("in the document but not a route: " + k));
    return problems;
  }

  /** One line per operation whose x-vigil-permission differs from its route's permission. */
  static List<String> permissionDifferences(List<RouteInfo> routes, JsonNode doc) {
    Map<String, JsonNode> operations = documentOperations(doc);
    List<String> problems = new ArrayList<>();
    for (RouteInfo route : routes) {
      String key = key(route.method(), route.path());
      JsonNode operation = operations.get(key);
      if (operation == null) {
        continue; // reported by routeDifferences
      }
      String expected = route.permission() == null ? null : route.permission().name();
      JsonNode actual = operation.get("x-vigil-permission");
      String documented = actual == null || actual.isNull() ? null : actual.asText();
      if (!java.util.Objects.equals(expected, documented)) {
        problems.add(
            key
                + ": x-vigil-permission is "
                + documented
                + ", the route requires "
                + (expected == null ? "no permission" : expected));
      }
    }
    return problems;
  }

  /** Every {@code $ref} that is not a local JSON pointer to an existing node, with its location. */
  static List<String> unresolvedReferences(JsonNode doc) {
    List<String> problems = new ArrayList<>();
    collectReferences(doc, doc, "#", problems);
    return problems;
  }

  private static void collectReferences(
      JsonNode root, JsonNode node, String at, List<String> problems) {
    if (node.isObject()) {
      JsonNode ref = node.get("$ref");
      if (ref != null) {
        String target = ref.asText();
        if (!ref.isTextual() || !target.startsWith("#/")) {
          problems.add(at + ": $ref " + ref + " is not a local reference");
        } else if (root.at(JsonPointer.compile(target.substring(1))).isMissingNode()) {
          problems.add(at + ": $ref " + target + " does not resolve");
        }
      }
      node.properties()
          .forEach(
              e -> collectReferences(root, e.getValue(), at + "/" + escape(e.getKey()), problems));
    } else if (node.isArray()) {
      for (int i = 0; i < node.size(); i++) {
        collectReferences(root, node.get(i), at + "/" + i, problems);
      }
    }
  }

  /** Operations under {@code /api/v1} in the document, keyed like routes: "GET /api/v1/…". */
  static Map<String, JsonNode> documentOperations(JsonNode doc) {
    Map<String, JsonNode> operations = new TreeMap<>();
    doc.path("paths")
        .properties()
        .forEach(
            path -> {
              if (path.getKey().startsWith(API_PREFIX)) {
                operations.putAll(operations(path.getKey(), path.getValue()));
              }
            });
    return operations;
  }

  private static Map<String, JsonNode> operations(String path, JsonNode pathItem) {
    Map<String, JsonNode> operations = new TreeMap<>();
    pathItem
        .properties()
        .forEach(
            e -> {
              if (HTTP_METHODS.contains(e.getKey())) {
                operations.put(key(e.getKey(), path), e.getValue());
              }
            });
    return operations;
  }

  private static Set<String> pathParameters(JsonNode parameters) {
    Set<String> names = new TreeSet<>();
    for (JsonNode parameter : parameters) {
      JsonNode resolved =
          parameter.has("$ref")
              ? document.at(JsonPointer.compile(parameter.get("$ref").asText().substring(1)))
              : parameter;
      if ("path".equals(resolved.path("in").asText())) {
        names.add(resolved.path("name").asText());
      }
    }
    return names;
  }

  private static String key(String method, String path) {
    return method.toUpperCase(Locale.ROOT) + " " + path;
  }

  private static String escape(String token) {
    return token.replace("~", "~0").replace("/", "~1");
  }

  private static String report(List<String> problems) {
    return documentFile
        + " does not match the code ("
        + problems.size()
        + " problem(s)):\n  "
        + String.join("\n  ", problems)
        + "\nUpdate the document (or the route) so that they agree.";
  }

  /**
   * The repository root: the nearest folder at or above the working directory that holds both
   * {@code pom.xml} and {@code docs/openapi.json} (tests run in {@code vigil-server/}).
   */
  static Path repositoryRoot() {
    Path start = Path.of("").toAbsolutePath();
    for (Path dir = start; dir != null; dir = dir.getParent()) {
      if (Files.isRegularFile(dir.resolve("pom.xml"))
          && Files.isRegularFile(dir.resolve("docs").resolve("openapi.json"))) {
        return dir;
      }
    }
    throw new IllegalStateException(
        "No folder at or above "
            + start
            + " holds pom.xml and docs/openapi.json; run the tests inside the repository.");
  }
}
