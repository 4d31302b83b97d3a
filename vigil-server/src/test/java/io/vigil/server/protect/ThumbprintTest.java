package io.vigil.server.protect;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class ThumbprintTest {

  private static final String HEX = "3A0F9C1E22B4D780A1B2C3D4E5F60718293A4B5C";

  @Test
  void caseSpacesAndColonsAreIgnored() {
    assertThat(
            Thumbprint.parse("3a 0f 9c 1e 22 b4 d7 80 a1 b2 c3 d4 e5 f6 07 18 29 3a 4b 5c").hex())
        .isEqualTo(HEX);
    assertThat(Thumbprint.parse("3A:0F:9C:1E:22:B4:D7:80:A1:B2:C3:D4:E5:F6:07:18:29:3A:4B:5C"))
        .isEqualTo(new Thumbprint(HEX));
  }

  @Test
  void wrongLengthOrNonHexIsRefusedWithAReadableMessage() {
    assertThatThrownBy(() -> Thumbprint.parse("AB CD"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("40 hexadecimal digits");
    assertThatThrownBy(() -> Thumbprint.parse(HEX.replace('A', 'Z')))
        .hasMessageContaining("is not a certificate thumbprint");
    assertThatThrownBy(() -> Thumbprint.parse(" ")).hasMessageContaining("thumbprint is required");
  }
}
