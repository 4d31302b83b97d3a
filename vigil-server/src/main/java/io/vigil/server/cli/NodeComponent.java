package io.vigil.server.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;

/**
 * The Vigil node (management server) installed on this machine, found by its data directory. Its
 * management server address is the address clients use for the whole cluster, which a node knows as
 * its token issuer {@code Identity.Issuer} ({@code <address>/idp}, docs/cluster.md): setting it to
 * the cluster's address on every node is the seed's "change the management server address to the
 * URL of the cluster". Registering publishes the address as the site's management server address
 * ({@code PATCH /api/v1/site}), which every component and node is told to use.
 */
final class NodeComponent implements InstalledComponent {

  static final String IDENTITY = "Identity";
  static final String ISSUER = "Issuer";
  static final String ISSUER_PATH = "/idp";
  static final String SITE = "/api/v1/site";

  private final Path dataDir;

  NodeComponent(Path dataDir) {
    this.dataDir = dataDir;
  }

  /**
   * Whether a node is installed in {@code dataDir}: the directory holds its {@code
   * appsettings.json}, its embedded database or its certificate store.
   */
  static boolean installedIn(Path dataDir) {
    return Files.isRegularFile(dataDir.resolve("appsettings.json"))
        || Files.isDirectory(dataDir.resolve("db"))
        || Files.isDirectory(dataDir.resolve("certificates"));
  }

  Path dataDir() {
    return dataDir;
  }

  @Override
  public String kind() {
    return "management-server";
  }

  @Override
  public String location() {
    return dataDir.resolve("appsettings.json").toString();
  }

  @Override
  public boolean clusterNode() {
    return true;
  }

  @Override
  public Optional<String> address() {
    return AppSettingsFile.read(dataDir)
        .text(IDENTITY, ISSUER)
        .map(NodeComponent::withoutIssuerPath);
  }

  static String withoutIssuerPath(String issuer) {
    String s = issuer.strip().replaceAll("/+$", "");
    return s.endsWith(ISSUER_PATH) ? s.substring(0, s.length() - ISSUER_PATH.length()) : s;
  }

  @Override
  public void setAddress(URI url) {
    AppSettingsFile settings = AppSettingsFile.read(dataDir);
    String issuer = Credentials.key(url) + ISSUER_PATH;
    if (settings.text(IDENTITY, ISSUER).filter(issuer::equals).isPresent()) {
      return;
    }
    settings.put(settings.object(IDENTITY), ISSUER, issuer);
    settings.save();
  }

  @Override
  public void register(URI url, ApiClient api) {
    JsonNode site = api.get(SITE);
    String address = Credentials.key(url);
    if (address.equals(RemoteCommand.text(site, "managementServerAddress"))) {
      return;
    }
    api.call(
        "PATCH",
        SITE,
        Map.of("managementServerAddress", address),
        Map.of("If-Match", "\"" + site.path("revision").asLong() + "\""));
  }

  @Override
  public Optional<String> afterChange() {
    return Optional.of(
        "restart the node (vigil cluster move first if it is the active one) for it to issue"
            + " tokens for the new address; do the same on every node of the cluster");
  }
}
