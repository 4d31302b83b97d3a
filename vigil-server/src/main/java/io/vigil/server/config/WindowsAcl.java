package io.vigil.server.config;

import java.io.IOException;
import java.nio.charset.Charset;
import java.nio.file.Path;
import java.nio.file.attribute.AclEntry;
import java.nio.file.attribute.AclEntryPermission;
import java.nio.file.attribute.AclEntryType;
import java.nio.file.attribute.UserPrincipal;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * Owner-only files on Windows. Java can write a file's access-control entries but not mark its DACL
 * <em>protected</em>, so a folder's inheritable entries (a user's profile grants Administrators and
 * SYSTEM; a folder an administrator shared may grant Users) would still flow into it, now or when
 * someone propagates the folder's permissions later. {@link #protect} runs {@code icacls FILE
 * /inheritance:r /grant:r ACCOUNT:F}, which removes inherited entries, sets the protected flag and
 * grants the account Vigil runs as full control, as an administrator would by hand. {@link
 * #problem} tells whether an ACL lets another account read or change a file.
 */
public final class WindowsAcl {

  /** Accounts Windows itself runs as; they can read every file anyway. */
  private static final Set<String> SYSTEM_ACCOUNTS =
      Set.of("nt authority\\system", "system", "builtin\\administrators", "administrators");

  private static final Set<AclEntryPermission> READ_OR_CHANGE =
      EnumSet.of(
          AclEntryPermission.READ_DATA,
          AclEntryPermission.WRITE_DATA,
          AclEntryPermission.APPEND_DATA,
          AclEntryPermission.WRITE_ACL,
          AclEntryPermission.WRITE_OWNER,
          AclEntryPermission.DELETE);

  private WindowsAcl() {}

  /** The command that makes {@code file} its owner's alone, with no inherited entries. */
  static List<String> protectCommand(Path file, String account) {
    return List.of("icacls", file.toString(), "/inheritance:r", "/grant:r", account + ":F", "/q");
  }

  /** What an operator runs to fix {@code file} by hand. */
  public static String fix(Path file, String account) {
    return "icacls \"" + file + "\" /inheritance:r /grant:r \"" + account + ":F\"";
  }

  /**
   * Runs {@link #protectCommand} for the account Vigil runs as.
   *
   * @throws IOException when icacls cannot be run, overruns 30 s or reports a failure
   */
  public static void protect(Path file) throws IOException {
    String account = System.getProperty("user.name");
    Process process =
        new ProcessBuilder(protectCommand(file.toAbsolutePath(), account))
            .redirectErrorStream(true)
            .start();
    try {
      if (!process.waitFor(30, TimeUnit.SECONDS)) {
        process.destroyForcibly();
        throw new IOException("icacls did not finish within 30 s for " + file);
      }
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
      throw new IOException("interrupted while icacls set the permissions of " + file, e);
    }
    if (process.exitValue() != 0) {
      String output =
          new String(process.getInputStream().readAllBytes(), Charset.defaultCharset()).strip();
      throw new IOException(
          "icacls could not make "
              + file
              + " owner-only (exit code "
              + process.exitValue()
              + "): "
              + output
              + ". Run: "
              + fix(file, account));
    }
  }

  /**
   * Who besides {@code owner} and Windows' own accounts may read or change a file with {@code acl},
   * as readable text; null when nobody.
   */
  public static String problem(List<AclEntry> acl, UserPrincipal owner) {
    List<String> others = new ArrayList<>();
    for (AclEntry entry : acl) {
      if (entry.type() != AclEntryType.ALLOW) {
        continue;
      }
      UserPrincipal who = entry.principal();
      String name = who.getName().toLowerCase(Locale.ROOT);
      if (who.equals(owner) || SYSTEM_ACCOUNTS.contains(name)) {
        continue;
      }
      if (entry.permissions().stream().anyMatch(READ_OR_CHANGE::contains)) {
        others.add(who.getName());
      }
    }
    return others.isEmpty() ? null : String.join(", ", others) + " may read or change it";
  }
}
