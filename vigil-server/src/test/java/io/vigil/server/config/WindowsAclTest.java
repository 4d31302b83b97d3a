package io.vigil.server.config;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.nio.file.attribute.AclEntry;
import java.nio.file.attribute.AclEntryPermission;
import java.nio.file.attribute.AclEntryType;
import java.nio.file.attribute.UserPrincipal;
import java.util.EnumSet;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The Windows rules, checked on any platform: the ACLs are built by hand. */
class WindowsAclTest {

  record Account(String getName) implements UserPrincipal {}

  static final Account OWNER = new Account("SITE\\vigil-svc");

  static AclEntry allow(Account who, AclEntryPermission... permissions) {
    return AclEntry.newBuilder()
        .setType(AclEntryType.ALLOW)
        .setPrincipal(who)
        .setPermissions(EnumSet.of(permissions[0], permissions))
        .build();
  }

  @Test
  void theFileIsMadeTheOwnersAloneWithoutInheritedEntries() {
    assertThat(WindowsAcl.protectCommand(Path.of("machine.key"), "SITE\\vigil-svc"))
        .containsExactly(
            "icacls", "machine.key", "/inheritance:r", "/grant:r", "SITE\\vigil-svc:F", "/q");
  }

  @Test
  void theOwnerAndWindowsOwnAccountsMayHoldTheFile() {
    List<AclEntry> acl =
        List.of(
            allow(OWNER, AclEntryPermission.READ_DATA, AclEntryPermission.WRITE_DATA),
            allow(new Account("NT AUTHORITY\\SYSTEM"), AclEntryPermission.READ_DATA),
            allow(new Account("BUILTIN\\Administrators"), AclEntryPermission.READ_DATA));

    assertThat(WindowsAcl.problem(acl, OWNER)).isNull();
  }

  @Test
  void anInheritedEntryForUsersIsNamedWithTheFix() {
    List<AclEntry> acl =
        List.of(
            allow(OWNER, AclEntryPermission.READ_DATA),
            allow(new Account("BUILTIN\\Users"), AclEntryPermission.READ_DATA),
            allow(new Account("Everyone"), AclEntryPermission.WRITE_DATA),
            allow(new Account("SITE\\auditor"), AclEntryPermission.READ_ATTRIBUTES));

    assertThat(WindowsAcl.problem(acl, OWNER))
        .isEqualTo("BUILTIN\\Users, Everyone may read or change it");
    assertThat(WindowsAcl.fix(Path.of("C:\\ProgramData\\Vigil\\machine.key"), "SITE\\vigil-svc"))
        .isEqualTo(
            "icacls \"C:\\ProgramData\\Vigil\\machine.key\" /inheritance:r /grant:r"
                + " \"SITE\\vigil-svc:F\"");
  }

  @Test
  void denyEntriesNarrowAndAreNotAProblem() {
    AclEntry deny =
        AclEntry.newBuilder()
            .setType(AclEntryType.DENY)
            .setPrincipal(new Account("Everyone"))
            .setPermissions(EnumSet.of(AclEntryPermission.READ_DATA))
            .build();

    assertThat(WindowsAcl.problem(List.of(allow(OWNER, AclEntryPermission.READ_DATA), deny), OWNER))
        .isNull();
  }
}
