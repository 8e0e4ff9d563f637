package io.virga.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.virga.core.InvalidInputException;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class MicroversionTest {
  final Microversion.Range range = Microversion.COMPUTE;

  @Test
  void missingHeaderMeansTheMinimum() {
    assertThat(range.requested(Optional.empty(), Optional.empty()))
        .isEqualTo(Microversion.of(2, 1));
  }

  @Test
  void newHeaderWinsAndOtherServicesAreIgnored() {
    assertThat(range.requested(Optional.of("image 2.5, compute 2.20"), Optional.of("2.3")))
        .isEqualTo(Microversion.of(2, 20));
    assertThat(range.requested(Optional.of("image 2.5"), Optional.of("2.3")))
        .isEqualTo(Microversion.of(2, 3));
  }

  @Test
  void comparisonIsNumericNotTextual() {
    assertThat(Microversion.parse("2.10").atLeast(2, 9)).isTrue();
    assertThat(Microversion.parse("2.9").atLeast("2.10")).isFalse();
  }

  @Test
  void outOfRangeIs406AndGarbageIs400() {
    assertThatThrownBy(() -> range.requested(Optional.of("compute 3.0"), Optional.empty()))
        .isInstanceOf(Microversion.NotAcceptableException.class)
        .hasMessageContaining("Minimum is 2.1");
    assertThatThrownBy(() -> range.requested(Optional.of("compute 2.0"), Optional.empty()))
        .isInstanceOf(Microversion.NotAcceptableException.class);
    assertThatThrownBy(() -> Microversion.parse("2.x")).isInstanceOf(InvalidInputException.class);
    assertThatThrownBy(() -> Microversion.parse("02.1")).isInstanceOf(InvalidInputException.class);
  }
}
