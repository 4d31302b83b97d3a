package io.vigil.server.protect;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MachineProtectorTest {

  @TempDir Path dir;

  @Test
  void keyFileIsCreatedOwnerOnlyInAnOwnerOnlyDirectory() throws Exception {
    Path file = dir.resolve("conf").resolve("vigil").resolve("machine.key");
    MachineProtector protector = MachineProtector.open(file);
    assertThat(file).exists();
    assertThat(Files.size(file)).isEqualTo(32);
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file)))
        .isEqualTo("rw-------");
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file.getParent())))
        .isEqualTo("rwx------");
    assertThat(protector.id()).matches("machine:[0-9a-f]{16}");
    try (var files = Files.list(file.getParent())) {
      assertThat(files).containsExactly(file); // no temporary file left behind
    }
  }

  @Test
  void secondOpenReusesTheKeyFile() throws Exception {
    Path file = dir.resolve("machine.key");
    MachineProtector first = MachineProtector.open(file);
    byte[] before = Files.readAllBytes(file);
    MachineProtector second = MachineProtector.open(file);
    assertThat(Files.readAllBytes(file)).isEqualTo(before);
    assertThat(second.id()).isEqualTo(first.id());
    UUID keyId = UUID.randomUUID();
    byte[] dataKey = new byte[32];
    dataKey[3] = 9;
    assertThat(second.unwrap(keyId, first.wrap(keyId, dataKey))).isEqualTo(dataKey);
  }

  @Test
  void twoMachinesHaveDifferentIdsAndCannotUnwrapEachOthersKeys() {
    MachineProtector a = MachineProtector.open(dir.resolve("a").resolve("machine.key"));
    MachineProtector b = MachineProtector.open(dir.resolve("b").resolve("machine.key"));
    assertThat(a.id()).isNotEqualTo(b.id());
    UUID keyId = UUID.randomUUID();
    byte[] wrapped = a.wrap(keyId, new byte[32]);
    assertThatThrownBy(() -> b.unwrap(keyId, wrapped))
        .isInstanceOf(ProtectionException.class)
        .hasMessageContaining(keyId.toString())
        .hasMessageContaining(b.id());
  }

  @Test
  void wrappedKeyIsBoundToItsKeyId() {
    MachineProtector a = MachineProtector.open(dir.resolve("machine.key"));
    byte[] wrapped = a.wrap(UUID.randomUUID(), new byte[32]);
    UUID otherKey = UUID.randomUUID();
    assertThatThrownBy(() -> a.unwrap(otherKey, wrapped))
        .isInstanceOf(ProtectionException.class)
        .hasMessageContaining("Data protection key " + otherKey)
        .hasMessageContaining("altered");
  }

  @Test
  void aKeyFileOtherAccountsCanReadIsRefusedNamingTheFix() throws Exception {
    Path file = dir.resolve("machine.key");
    MachineProtector.open(file);
    byte[] key = Files.readAllBytes(file);
    for (String perms : List.of("rw-r--r--", "rw-rw----", "rw-----w-")) {
      Files.setPosixFilePermissions(file, PosixFilePermissions.fromString(perms));
      assertThatThrownBy(() -> MachineProtector.open(file))
          .as(perms)
          .isInstanceOf(ProtectionException.class)
          .hasMessageContaining(file.toString())
          .hasMessageContaining(perms)
          .hasMessageContaining("chmod 600 " + file);
      assertThat(Files.readAllBytes(file)).isEqualTo(key);
    }
    Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("r--------"));
    assertThat(MachineProtector.open(file).id()).startsWith("machine:");
  }

  @Test
  void keyFileOfTheWrongSizeNamesThePathAndTheFix() throws Exception {
    Path file = dir.resolve("machine.key");
    Files.writeString(file, "not a key");
    assertThatThrownBy(() -> MachineProtector.open(file))
        .isInstanceOf(ProtectionException.class)
        .hasMessageContaining(file.toString())
        .hasMessageContaining("holds 9 bytes, not the 32")
        .hasMessageContaining("Restore it from a backup");
    assertThat(Files.readString(file)).isEqualTo("not a key");
  }

  @Test
  void unreadableKeyFileNamesThePath() throws Exception {
    // A directory where the file should be cannot be read even by an administrator.
    Path file = dir.resolve("machine.key");
    Files.createDirectory(file);
    assertThatThrownBy(() -> MachineProtector.open(file))
        .isInstanceOf(ProtectionException.class)
        .hasMessageContaining("The machine key file " + file + " cannot be read");
  }

  @Test
  void defaultKeyFileFollowsThePlatform() {
    Path home = Path.of("/home/vigil");
    assertThat(MachineProtector.defaultKeyFile(Map.of(), "Linux", home))
        .isEqualTo(Path.of("/home/vigil/.config/vigil/machine.key"));
    assertThat(
            MachineProtector.defaultKeyFile(
                Map.of("XDG_CONFIG_HOME", "/etc/xdg"), "Mac OS X", home))
        .isEqualTo(Path.of("/etc/xdg/vigil/machine.key"));
    assertThat(
            MachineProtector.defaultKeyFile(Map.of("XDG_CONFIG_HOME", "relative"), "Linux", home))
        .isEqualTo(Path.of("/home/vigil/.config/vigil/machine.key"));
    assertThat(
            MachineProtector.defaultKeyFile(
                Map.of("ProgramData", "D:\\Data"), "Windows Server 2022", home))
        .isEqualTo(Path.of("D:\\Data", "Vigil", "machine.key"));
    assertThat(MachineProtector.defaultKeyFile(Map.of(), "Windows 11", home))
        .isEqualTo(Path.of("C:\\ProgramData", "Vigil", "machine.key"));
  }
}
