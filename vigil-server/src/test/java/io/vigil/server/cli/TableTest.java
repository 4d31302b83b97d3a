package io.vigil.server.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class TableTest {

  @Test
  void columnsAlignToTheWidestCellAndMissingValuesShowAsDash() {
    String text =
        new Table("NAME", "ROLE", "NOTE")
            .row("a", "administrator", "x")
            .row("longer-name", null, "")
            .render();

    assertThat(text)
        .isEqualTo(
            """
            NAME         ROLE           NOTE
            a            administrator  x
            longer-name  -              -
            """);
  }

  @Test
  void noLineEndsInSpacesAndNewlinesInCellsCannotBreakRows() {
    String text = new Table("A", "BBBBBBBB").row("multi\nline", "b").render();

    assertThat(text.lines()).hasSize(2).allSatisfy(l -> assertThat(l).doesNotEndWith(" "));
    assertThat(text).contains("multi line  b");
  }

  @Test
  void anEmptyTableStillHasItsHeader() {
    assertThat(new Table("ID", "NAME").render()).isEqualTo("ID  NAME\n");
  }

  @Test
  void aRowWithTheWrongNumberOfCellsIsRejected() {
    assertThatThrownBy(() -> new Table("A", "B").row("only one"))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
