package io.vigil.server.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.vigil.server.http.Json;
import io.vigil.server.protect.CertificateStore;
import io.vigil.server.protect.FileCertificateStore;
import io.vigil.server.protect.MachineProtector;
import io.vigil.server.protect.ProtectionException;
import io.vigil.server.protect.StoredCertificate;
import io.vigil.server.protect.Thumbprint;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code vigil protect import-cert|list-certs|use|status}: the certificates of this machine's store
 * and the ones a node's {@code appsettings.json} names, the Server Configurator's "import the
 * certificate to the personal certificate store and make it trusted on the computer". They act on
 * local files only, so they work while the node is stopped, before it first starts, and on a
 * machine whose node cannot start because of the very certificate being fixed.
 *
 * <p>The settings file is edited as a JSON tree ({@link AppSettingsFile}), not through {@code
 * Settings}, so that a file with sections this version does not know survives the edit.
 */
@Command(
    name = "protect",
    description =
        "Manage this machine's certificate store and the certificates a node uses for data"
            + " protection and HTTPS (local files; no running node needed).",
    mixinStandardHelpOptions = true)
final class ProtectCommand implements Runnable {

  static final String DP = "DataProtectionSettings";
  static final String WITH_CERTIFICATE = "ProtectKeysWithCertificate";
  static final String THUMBPRINT = "Thumbprint";
  static final String OLDER = "OlderThumbprints";
  static final String MACHINE_KEY_FILE = "MachineKeyFile";
  static final String HTTP = "Http";
  static final String TLS = "Tls";
  static final String DP_THUMBPRINT = DP + "." + WITH_CERTIFICATE + "." + THUMBPRINT;
  static final String DP_OLDER = DP + "." + WITH_CERTIFICATE + "." + OLDER;
  static final String TLS_THUMBPRINT = HTTP + "." + TLS + "." + THUMBPRINT;
  private static final String KEY_RING_NOTE =
      "The key ring itself (whether this node can unwrap every key) needs the database: run vigil"
          + " cluster validate.";

  @Spec CommandSpec spec;

  @Override
  public void run() {
    throw new CommandLine.ParameterException(
        spec.commandLine(), "Missing command: use one of import-cert, list-certs, use, status.");
  }

  static CommandLine commandLine(Terminal terminal) {
    return new CommandLine(new ProtectCommand())
        .addSubcommand(new ImportCert(terminal))
        .addSubcommand(new ListCerts(terminal))
        .addSubcommand(new Use(terminal))
        .addSubcommand(new Status(terminal));
  }

  /** Base of the verbs: the data directory, found as {@code vigil node} finds it. */
  abstract static class Local implements Callable<Integer> {
    @Option(
        names = "--data-dir",
        paramLabel = "DIR",
        description =
            "The node's data directory (default: VIGIL_DATA_DIR, else the node's default).")
    Path dataDir;

    final Terminal terminal;

    Local(Terminal terminal) {
      this.terminal = terminal;
    }

    Path dataDir() {
      return NodeCommand.Run.dataDir(dataDir, terminal.env());
    }

    CertificateStore store() {
      return CertificateStore.forPlatform(dataDir());
    }

    void printJson(Object value) {
      try {
        terminal
            .out()
            .println(Json.MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(value));
        terminal.out().flush();
      } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
        throw new IllegalStateException(e);
      }
    }

    void warn(String message) {
      terminal.err().println("warning: " + message);
      terminal.err().flush();
    }
  }

  // ---- import-cert

  @Command(
      name = "import-cert",
      description =
          "Import a certificate with its private key into the personal store (PKCS#12, or PEM"
              + " with a PKCS#8 key), and with --trusted make its root trusted on this machine.",
      mixinStandardHelpOptions = true,
      sortOptions = false)
  static final class ImportCert extends Local {
    @Parameters(
        paramLabel = "FILE",
        description = "A .p12/.pfx file, or a PEM (or DER) certificate, optionally with its chain.")
    Path file;

    @Option(
        names = "--password-file",
        paramLabel = "F",
        description = "A file whose first line is the PKCS#12 password (default: empty password).")
    Path passwordFile;

    @Option(
        names = "--key",
        paramLabel = "KEYFILE",
        description = "The PKCS#8 PEM private key, when it is not in FILE.")
    Path keyFile;

    @Option(
        names = "--trusted",
        description =
            "Also trust the chain's root on this machine (the certificate itself when it is"
                + " self-signed). A certificate without a private key (a CA) needs this.")
    boolean trusted;

    ImportCert(Terminal terminal) {
      super(terminal);
    }

    @Override
    public Integer call() {
      if (windows(System.getProperty("os.name"))) {
        throw new CliException(ExitCodes.ERROR, "windows_store", windowsAdvice(file, trusted));
      }
      CertificateImport.Material material =
          CertificateImport.read(file.toAbsolutePath(), passwordFile, keyFile);
      X509Certificate cert = material.certificate();
      if (material.key() == null && !trusted) {
        throw new CliException(
            ExitCodes.ERROR,
            "no_private_key",
            file
                + " holds the certificate "
                + CertificateStore.subject(cert)
                + " but no private key, and a node needs the key to use a certificate. Import"
                + " the file that has the key (PKCS#12, or PEM with --key KEYFILE), or add"
                + " --trusted to make this CA certificate trusted on this machine. Nothing was"
                + " written.");
      }
      FileCertificateStore store =
          new FileCertificateStore(FileCertificateStore.defaultRoot(dataDir()));
      CertificateImport.Written written = CertificateImport.write(store, material, trusted);
      printImported(store, material, written);
      return ExitCodes.OK;
    }

    private void printImported(
        FileCertificateStore store,
        CertificateImport.Material material,
        CertificateImport.Written written) {
      var out = terminal.out();
      Instant now = Instant.now();
      X509Certificate cert = material.certificate();
      String who = CertificateStore.subject(cert) + " (thumbprint " + material.thumbprint() + ")";
      if (material.key() != null) {
        if (written.alreadyInStore()) {
          out.println(who + " is already in " + store.describe() + " with its private key.");
        } else {
          out.println("Imported " + who + " into " + store.describe() + ":");
          List<Path> files = new ArrayList<>(written.personalFiles());
          Collections.reverse(files);
          out.println(
              "  "
                  + files.stream()
                      .map(p -> store.root().relativize(p).toString())
                      .collect(Collectors.joining(", "))
                  + " (owner-only, user "
                  + CertificateImport.account()
                  + ")");
        }
        out.println(
            "  valid "
                + CertificateReport.seconds(cert.getNotBefore().toInstant())
                + " to "
                + CertificateReport.seconds(cert.getNotAfter().toInstant())
                + ", key "
                + CertificateReport.keyType(cert.getPublicKey()));
      }
      if (written.trustedFile() != null) {
        X509Certificate root = material.root();
        String rootWho =
            CertificateStore.subject(root) + " (thumbprint " + Thumbprint.of(root) + ")";
        if (written.alreadyTrusted()) {
          out.println("Trusted on this machine already: " + rootWho + ".");
        } else {
          out.println(
              "Trusted on this machine: "
                  + rootWho
                  + " in "
                  + store.root().relativize(written.trustedFile())
                  + (root.equals(cert) || CertificateImport.selfSigned(root)
                      ? ""
                      : " (the chain has no self-signed root, so its last certificate is"
                          + " trusted)")
                  + ".");
        }
      }
      if (now.isAfter(cert.getNotAfter().toInstant())) {
        warn(who + " expired on " + cert.getNotAfter().toInstant() + "; a node refuses it.");
      } else if (now.isBefore(cert.getNotBefore().toInstant())) {
        warn(who + " is not valid before " + cert.getNotBefore().toInstant() + ".");
      }
      if (material.key() != null) {
        if (!written.alreadyInStore()) {
          out.println(
              "The node must run as user "
                  + CertificateImport.account()
                  + " to read these files (or chown them to its service account).");
        }
        out.println(
            "Next: vigil protect use --thumbprint "
                + material.thumbprint()
                + (dataDir == null ? "" : " --data-dir " + dataDir())
                + " (for data protection; add --tls for the HTTPS certificate)");
      } else {
        out.println(
            "It has no private key, so it is not in the personal store; certificates it issued"
                + " now chain to a trusted root.");
      }
      out.flush();
    }
  }

  static boolean windows(String osName) {
    return osName != null && osName.toLowerCase(Locale.ROOT).startsWith("windows");
  }

  /** On Windows the store is Windows-MY, which Windows' own tools manage. */
  static String windowsAdvice(Path file, boolean trusted) {
    return "On Windows a node reads its certificates from the Windows certificate store"
        + " (Windows-MY of the service account), not from files: import "
        + file
        + " with certlm.msc (Personal > Certificates > All Tasks > Import), or in PowerShell"
        + " Import-PfxCertificate -FilePath "
        + file
        + " -CertStoreLocation Cert:\\LocalMachine\\My"
        + (trusted
            ? ", and make its root trusted with Import-Certificate -FilePath ROOT.cer"
                + " -CertStoreLocation Cert:\\LocalMachine\\Root"
            : "")
        + "; then give the service account read access to the private key (Manage Private"
        + " Keys) and run vigil protect use --thumbprint T.";
  }

  // ---- list-certs

  @Command(
      name = "list-certs",
      description =
          "List the certificates of this machine's store: validity, trust, private key, and"
              + " what appsettings.json uses each for.",
      mixinStandardHelpOptions = true)
  static final class ListCerts extends Local {
    @Option(names = "--json", description = "Print JSON instead of a table.")
    boolean json;

    ListCerts(Terminal terminal) {
      super(terminal);
    }

    @Override
    public Integer call() {
      Instant now = Instant.now();
      CertificateStore store = store();
      Map<Thumbprint, List<CertificateReport.Purpose>> uses = new LinkedHashMap<>();
      try {
        uses = Configured.read(dataDir()).uses();
      } catch (CliException e) {
        warn(e.getMessage() + " The USE column is left empty.");
      }
      List<CertificateReport> reports = new ArrayList<>();
      for (StoredCertificate c : store.list()) {
        reports.add(CertificateReport.of(store, c, now));
      }
      List<CertificateStore.UnreadableEntry> unreadable = store.unreadable();
      if (json) {
        List<Map<String, Object>> items = new ArrayList<>();
        for (CertificateReport r : reports) {
          Map<String, Object> m = r.json(now);
          m.put("uses", labels(uses.getOrDefault(r.thumbprint(), List.of())));
          items.add(m);
        }
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("store", store.describe());
        body.put("certificates", items);
        body.put(
            "unreadable",
            unreadable.stream()
                .map(u -> Map.of("source", u.source(), "cause", u.cause()))
                .toList());
        printJson(body);
        return ExitCodes.OK;
      }
      var out = terminal.out();
      if (reports.isEmpty() && unreadable.isEmpty()) {
        out.println(
            "No certificates in "
                + store.describe()
                + ". Import one with vigil protect import-cert FILE.");
        out.flush();
        return ExitCodes.OK;
      }
      Table table =
          new Table(
              "THUMBPRINT",
              "SUBJECT",
              "NOT BEFORE",
              "NOT AFTER",
              "DAYS LEFT",
              "TRUSTED",
              "PRIVATE KEY",
              "KEY",
              "USE");
      List<String> notes = new ArrayList<>();
      for (CertificateReport r : reports) {
        table.row(
            r.thumbprint().hex(),
            r.subject(),
            CertificateReport.seconds(r.notBefore()),
            CertificateReport.seconds(r.notAfter()),
            r.expired(now) ? "expired" : Long.toString(r.daysLeft()),
            r.untrustedReason().isEmpty() ? "yes" : "no",
            r.keyProblem().isEmpty() ? "readable" : "not readable",
            r.keyType(),
            String.join(", ", labels(uses.getOrDefault(r.thumbprint(), List.of()))));
        r.untrustedReason().ifPresent(why -> notes.add(r.thumbprint() + " not trusted: " + why));
        r.keyProblem().ifPresent(why -> notes.add(r.thumbprint() + " private key: " + why));
      }
      out.println("Certificates in " + store.describe() + ":");
      if (table.size() > 0) {
        out.print(table.render());
      }
      for (String note : notes) {
        out.println("  " + note);
      }
      if (!unreadable.isEmpty()) {
        out.println("Entries that cannot be read:");
        for (var u : unreadable) {
          out.println("  " + u.source() + ": " + u.cause());
        }
      }
      for (var e : uses.entrySet()) {
        if (reports.stream().noneMatch(r -> r.thumbprint().equals(e.getKey()))) {
          out.println(
              "  "
                  + e.getKey()
                  + " is configured for "
                  + String.join(", ", labels(e.getValue()))
                  + " but not in the store.");
        }
      }
      out.flush();
      return ExitCodes.OK;
    }

    private static List<String> labels(List<CertificateReport.Purpose> purposes) {
      return purposes.stream().map(p -> p.label).toList();
    }
  }

  // ---- use

  @Command(
      name = "use",
      description =
          "Select a certificate of the store in appsettings.json: for data protection (the"
              + " previous one is kept for unwrapping), or with --tls for HTTPS.",
      mixinStandardHelpOptions = true,
      sortOptions = false)
  static final class Use extends Local {
    @Option(
        names = "--thumbprint",
        paramLabel = "T",
        required = true,
        description = "The certificate's SHA-1 thumbprint (vigil protect list-certs shows it).")
    String thumbprint;

    @Option(
        names = "--tls",
        description = "Set the HTTPS certificate (Http.Tls.Thumbprint) instead.")
    boolean tls;

    @Option(
        names = "--force",
        description =
            "Write the setting even when the certificate is missing or unusable (e.g. to prepare"
                + " a node before its certificate arrives).")
    boolean force;

    Use(Terminal terminal) {
      super(terminal);
    }

    @Override
    public Integer call() {
      Thumbprint t;
      try {
        t = Thumbprint.parse(thumbprint);
      } catch (IllegalArgumentException e) {
        throw CliException.usage("invalid_thumbprint", e.getMessage());
      }
      Instant now = Instant.now();
      CertificateStore store = store();
      CertificateReport.Purpose purpose =
          tls ? CertificateReport.Purpose.TLS : CertificateReport.Purpose.DATA_PROTECTION;
      Optional<StoredCertificate> found = store.find(t);
      if (found.isEmpty()) {
        String message =
            "No certificate with thumbprint "
                + t
                + " in "
                + store.describe()
                + " ("
                + held(store)
                + ").";
        if (!force) {
          throw new CliException(
              ExitCodes.NOT_FOUND,
              "certificate_not_found",
              message
                  + " Import it first (vigil protect import-cert FILE --trusted), or add --force to"
                  + " write the setting anyway. Nothing was changed.");
        }
        warn(message + " Written anyway (--force).");
      } else {
        List<CertificateReport.Problem> problems =
            CertificateReport.of(store, found.get(), now).problems(purpose, now);
        List<CertificateReport.Problem> blocking =
            problems.stream().filter(CertificateReport.Problem::blocking).toList();
        if (!blocking.isEmpty() && !force) {
          throw new CliException(
              ExitCodes.ERROR,
              blocking.get(0).code(),
              "Cannot use it for "
                  + purpose.label
                  + ": "
                  + blocking.stream()
                      .map(CertificateReport.Problem::message)
                      .collect(Collectors.joining("; "))
                  + ". Nothing was changed; add --force to write the setting anyway.");
        }
        for (CertificateReport.Problem p : problems) {
          warn(p.message() + (p.blocking() ? " (written anyway: --force)" : "") + ".");
        }
      }
      AppSettingsFile settings = AppSettingsFile.read(dataDir());
      return tls ? setTls(settings, t) : setDataProtection(settings, t);
    }

    private int setDataProtection(AppSettingsFile settings, Thumbprint t) {
      var out = terminal.out();
      Optional<String> previousText = settings.text(DP, WITH_CERTIFICATE, THUMBPRINT);
      Optional<Thumbprint> previous = previousText.flatMap(ProtectCommand::parseQuietly);
      boolean olderHasIt =
          settings.texts(DP, WITH_CERTIFICATE, OLDER).stream()
              .flatMap(s -> parseQuietly(s).stream())
              .anyMatch(t::equals);
      if (previous.isPresent() && previous.get().equals(t) && !olderHasIt) {
        out.println(DP_THUMBPRINT + " in " + settings.file() + " is already " + t + ".");
        out.flush();
        return ExitCodes.OK;
      }
      ObjectNode section = settings.object(DP, WITH_CERTIFICATE);
      settings.put(section, THUMBPRINT, t.hex());
      boolean moved = previous.isPresent() && !previous.get().equals(t);
      if (moved || olderHasIt) {
        ArrayNode older = settings.array(section, OLDER, DP_OLDER);
        for (int i = older.size() - 1; i >= 0; i--) {
          if (parseQuietly(older.get(i).asText()).filter(t::equals).isPresent()) {
            older.remove(i);
          }
        }
        if (moved) {
          boolean listed = false;
          for (var item : older) {
            listed |= parseQuietly(item.asText()).filter(previous.get()::equals).isPresent();
          }
          if (!listed) {
            older.add(previous.get().hex());
          }
        }
      }
      settings.save();
      out.println("Set " + DP_THUMBPRINT + " to " + t + " in " + settings.file() + ".");
      if (moved) {
        out.println(
            "The previous certificate "
                + previous.get()
                + " is now in "
                + OLDER
                + ": it only unwraps the keys it wrapped.");
      } else if (previousText.isPresent() && previous.isEmpty()) {
        warn(
            "the previous value \""
                + previousText.get()
                + "\" was not a thumbprint and was replaced, not kept in "
                + OLDER
                + ".");
      }
      out.println(
          "Next: restart the node; at start it wraps new keys with this certificate and re-wraps"
              + " the key ring's existing keys with it. In a cluster, import the certificate and"
              + " run this command on every node, then check with vigil cluster validate.");
      out.flush();
      return ExitCodes.OK;
    }

    private int setTls(AppSettingsFile settings, Thumbprint t) {
      var out = terminal.out();
      Optional<Thumbprint> previous =
          settings.text(HTTP, TLS, THUMBPRINT).flatMap(ProtectCommand::parseQuietly);
      if (previous.isPresent() && previous.get().equals(t)) {
        out.println(TLS_THUMBPRINT + " in " + settings.file() + " is already " + t + ".");
        out.flush();
        return ExitCodes.OK;
      }
      settings.put(settings.object(HTTP, TLS), THUMBPRINT, t.hex());
      settings.save();
      out.println("Set " + TLS_THUMBPRINT + " to " + t + " in " + settings.file() + ".");
      if (previous.isPresent()) {
        out.println(
            "Next: nothing to restart; a running node serves HTTPS with this certificate for new"
                + " connections once it sees the change.");
      } else {
        out.println(
            "Next: restart the node; a node started without a TLS certificate keeps serving plain"
                + " HTTP until then, and serves HTTPS with this certificate from its next start"
                + " (its URL then starts with https://, and Http.AllowPlainHttp is no longer"
                + " needed).");
      }
      out.flush();
      return ExitCodes.OK;
    }
  }

  static String held(CertificateStore store) {
    List<StoredCertificate> list = store.list();
    String held =
        list.isEmpty()
            ? "it holds no certificate"
            : "it holds "
                + list.stream().map(c -> c.thumbprint().hex()).collect(Collectors.joining(", "));
    List<CertificateStore.UnreadableEntry> bad = store.unreadable();
    return bad.isEmpty()
        ? held
        : held
            + "; it cannot read "
            + bad.stream()
                .map(u -> u.source() + " (" + u.cause() + ")")
                .collect(Collectors.joining("; "));
  }

  static Optional<Thumbprint> parseQuietly(String text) {
    try {
      return Optional.of(Thumbprint.parse(text));
    } catch (IllegalArgumentException e) {
      return Optional.empty();
    }
  }

  // ---- status

  @Command(
      name = "status",
      description =
          "Check the data protection configured in appsettings.json on this machine: the"
              + " machine key file, or each certificate (found, valid, trusted, private key)."
              + " Exits 1 when it is not usable.",
      mixinStandardHelpOptions = true)
  static final class Status extends Local {
    @Option(names = "--json", description = "Print JSON instead of text.")
    boolean json;

    Status(Terminal terminal) {
      super(terminal);
    }

    @Override
    public Integer call() {
      Instant now = Instant.now();
      Path dataDir = dataDir();
      Configured configured = Configured.read(dataDir);
      CertificateStore store = store();
      Report report = new Report();
      report.json.put("settingsFile", configured.file().toString());
      report.json.put("store", store.describe());
      report.line("Settings: " + configured.file() + (configured.exists() ? "" : " (none yet)"));
      report.line("Store:    " + store.describe());

      Path machineKey = machineKeyFile(configured, dataDir);
      if (configured.current().isEmpty()) {
        machine(report, machineKey, configured);
      } else {
        certificates(report, store, configured, machineKey, now);
      }
      configured
          .tls()
          .ifPresent(
              text -> {
                report.line("");
                Map<String, Object> entry =
                    certificate(
                        report, store, text, CertificateReport.Purpose.TLS, "TLS", now, false);
                report.json.put("tls", entry);
              });

      report.json.put("usable", report.failure == null);
      report.json.put("reason", report.failure);
      report.json.put("warnings", report.warnings);
      report.json.put("keyRing", KEY_RING_NOTE);
      if (json) {
        printJson(report.json);
      } else {
        var out = terminal.out();
        report.lines.forEach(out::println);
        out.println();
        for (String w : report.warnings) {
          out.println("warning: " + w);
        }
        if (report.failure == null) {
          out.println("Data protection is usable on this node: " + report.usableSummary + ".");
        }
        out.println(KEY_RING_NOTE);
        out.flush();
      }
      if (report.failure != null) {
        throw new CliException(
            ExitCodes.ERROR,
            report.failureCode,
            "Data protection is not usable on this node: " + report.failure);
      }
      return ExitCodes.OK;
    }

    private void machine(Report report, Path keyFile, Configured configured) {
      String from =
          terminal.env().get("VIGIL_MACHINE_KEY_FILE") != null
                  && !terminal.env().get("VIGIL_MACHINE_KEY_FILE").isBlank()
              ? "VIGIL_MACHINE_KEY_FILE"
              : configured.machineKeyFile().isPresent()
                  ? DP + "." + MACHINE_KEY_FILE
                  : "the platform default";
      Map<String, Object> protector = new LinkedHashMap<>();
      protector.put("type", "machine");
      protector.put("keyFile", keyFile.toString());
      protector.put("keyFileFrom", from);
      report.json.put("protector", protector);
      report.line("Protector: the machine key file " + keyFile + " (" + from + ")");
      report.usableSummary = "keys are wrapped with the machine key file " + keyFile;
      if (!Files.exists(keyFile)) {
        protector.put("exists", false);
        report.line("  does not exist yet: the node creates it (owner-only) when it first starts");
        report.warnings.add(
            "if this node's database already holds keys wrapped by a machine key file, they"
                + " cannot be unwrapped without it: restore "
                + keyFile
                + " from the backup taken with the database");
        return;
      }
      protector.put("exists", true);
      try {
        String id = MachineProtector.open(keyFile).id();
        protector.put("id", id);
        report.line("  readable by user " + CertificateImport.account() + " (" + id + ")");
      } catch (ProtectionException e) {
        report.fail("machine_key_unreadable", e.getMessage());
        report.line("  cannot be used: " + e.getMessage());
      }
      try {
        Set<PosixFilePermission> perms = Files.getPosixFilePermissions(keyFile);
        if (!EnumSet.of(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE)
            .containsAll(perms)) {
          report.warnings.add(
              keyFile
                  + " has permissions "
                  + PosixFilePermissions.toString(perms)
                  + ": other accounts can read it, and with it every secret; run chmod 600 "
                  + keyFile);
        }
      } catch (UnsupportedOperationException | IOException e) {
        // No POSIX permissions: an ACL protects the file.
      }
    }

    private void certificates(
        Report report,
        CertificateStore store,
        Configured configured,
        Path machineKey,
        Instant now) {
      Map<String, Object> protector = new LinkedHashMap<>();
      protector.put("type", "certificate");
      protector.put("thumbprint", configured.current().get());
      protector.put("olderThumbprints", configured.older());
      report.json.put("protector", protector);
      report.line(
          "Protector: certificate " + configured.current().get() + " (" + DP_THUMBPRINT + ")");
      report.line("");
      List<Map<String, Object>> entries = new ArrayList<>();
      entries.add(
          certificate(
              report,
              store,
              configured.current().get(),
              CertificateReport.Purpose.DATA_PROTECTION,
              "current",
              now,
              true));
      for (String older : configured.older()) {
        entries.add(
            certificate(
                report, store, older, CertificateReport.Purpose.OLDER, "older", now, false));
      }
      protector.put("certificates", entries);
      report.usableSummary = "new keys are wrapped with certificate " + configured.current().get();
      if (Files.exists(machineKey)) {
        report.line(
            "The machine key file "
                + machineKey
                + " exists: keys it wrapped before the switch are still unwrapped with it.");
      }
    }

    /**
     * Reports one configured certificate; its blocking problems fail the status when {@code
     * decides}, else they are warnings.
     */
    private Map<String, Object> certificate(
        Report report,
        CertificateStore store,
        String text,
        CertificateReport.Purpose purpose,
        String role,
        Instant now,
        boolean decides) {
      Map<String, Object> entry = new LinkedHashMap<>();
      entry.put("role", role);
      entry.put("configured", text);
      String setting =
          switch (purpose) {
            case DATA_PROTECTION -> DP_THUMBPRINT;
            case OLDER -> DP_OLDER;
            case TLS -> TLS_THUMBPRINT;
          };
      Optional<Thumbprint> t = parseQuietly(text);
      if (t.isEmpty()) {
        entry.put("found", false);
        String why = setting + " \"" + text + "\" is not a thumbprint (40 hexadecimal digits)";
        report.line(role + "  " + text);
        report.line("  " + why);
        problem(report, decides, "invalid_thumbprint", why + "; correct it in appsettings.json");
        return entry;
      }
      report.line(role + "  " + t.get());
      Optional<StoredCertificate> found = store.find(t.get());
      entry.put("found", found.isPresent());
      if (found.isEmpty()) {
        String why = "certificate " + t.get() + " (" + setting + ") is not in " + store.describe();
        report.line("  not in the store (" + held(store) + ")");
        problem(
            report,
            decides,
            "certificate_not_found",
            why
                + (purpose == CertificateReport.Purpose.OLDER
                    ? "; keys it wrapped cannot be unwrapped on this node"
                    : "; import it with vigil protect import-cert FILE --trusted"));
        return entry;
      }
      CertificateReport r = CertificateReport.of(store, found.get(), now);
      entry.putAll(r.json(now));
      List<CertificateReport.Problem> problems = r.problems(purpose, now);
      entry.put(
          "problems",
          problems.stream().map(p -> Map.of("code", p.code(), "message", p.message())).toList());
      report.line("  subject      " + r.subject());
      report.line(
          "  valid        "
              + CertificateReport.seconds(r.notBefore())
              + " to "
              + CertificateReport.seconds(r.notAfter())
              + " ("
              + r.daysLeftText(now)
              + ")");
      report.line("  trusted      " + r.untrustedReason().map(w -> "no: " + w).orElse("yes"));
      report.line(
          "  private key  "
              + r.keyProblem().map(w -> "not readable: " + w).orElse("readable")
              + " ("
              + r.keyType()
              + ")");
      for (CertificateReport.Problem p : problems) {
        if (p.blocking()) {
          problem(report, decides, p.code(), p.message());
        } else {
          report.warnings.add(p.message());
        }
      }
      return entry;
    }

    private static void problem(Report report, boolean decides, String code, String message) {
      if (decides) {
        report.fail(code, message);
      } else {
        report.warnings.add(message);
      }
    }

    /** As the node finds it: VIGIL_MACHINE_KEY_FILE, the setting, else the platform default. */
    private Path machineKeyFile(Configured configured, Path dataDir) {
      return machineKeyFile(terminal.env(), configured, dataDir);
    }

    static Path machineKeyFile(
        Map<String, String> environment, Configured configured, Path dataDir) {
      String env = environment.get("VIGIL_MACHINE_KEY_FILE");
      Optional<String> value =
          env != null && !env.isBlank() ? Optional.of(env.trim()) : configured.machineKeyFile();
      if (value.isEmpty()) {
        return MachineProtector.defaultKeyFile(
            environment, System.getProperty("os.name"), Path.of(System.getProperty("user.home")));
      }
      Path path = Path.of(value.get());
      return (path.isAbsolute() ? path : dataDir.resolve(path)).toAbsolutePath().normalize();
    }
  }

  /** The text and JSON of a status report, built together. */
  private static final class Report {
    final List<String> lines = new ArrayList<>();
    final List<String> warnings = new ArrayList<>();
    final Map<String, Object> json = new LinkedHashMap<>();
    String failure;
    String failureCode;
    String usableSummary = "";

    void line(String text) {
      lines.add(text);
    }

    void fail(String code, String message) {
      if (failure == null) {
        failure = message;
        failureCode = code;
      } else {
        failure = failure + "; " + message;
      }
    }
  }

  /** The certificate settings of a node's {@code appsettings.json}, as written there. */
  record Configured(
      Path file,
      boolean exists,
      Optional<String> current,
      List<String> older,
      Optional<String> tls,
      Optional<String> machineKeyFile) {

    static Configured read(Path dataDir) {
      AppSettingsFile f = AppSettingsFile.read(dataDir);
      return new Configured(
          f.file(),
          f.exists(),
          f.text(DP, WITH_CERTIFICATE, THUMBPRINT),
          f.texts(DP, WITH_CERTIFICATE, OLDER),
          f.text(HTTP, TLS, THUMBPRINT),
          f.text(DP, MACHINE_KEY_FILE));
    }

    /** What each configured (and well-formed) thumbprint is used for. */
    Map<Thumbprint, List<CertificateReport.Purpose>> uses() {
      Map<Thumbprint, List<CertificateReport.Purpose>> out = new LinkedHashMap<>();
      current
          .flatMap(ProtectCommand::parseQuietly)
          .ifPresent(
              t ->
                  out.computeIfAbsent(t, k -> new ArrayList<>())
                      .add(CertificateReport.Purpose.DATA_PROTECTION));
      for (String o : older) {
        parseQuietly(o)
            .ifPresent(
                t ->
                    out.computeIfAbsent(t, k -> new ArrayList<>())
                        .add(CertificateReport.Purpose.OLDER));
      }
      tls.flatMap(ProtectCommand::parseQuietly)
          .ifPresent(
              t ->
                  out.computeIfAbsent(t, k -> new ArrayList<>())
                      .add(CertificateReport.Purpose.TLS));
      return out;
    }
  }
}
