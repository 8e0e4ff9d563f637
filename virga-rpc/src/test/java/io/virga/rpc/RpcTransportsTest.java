package io.virga.rpc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.virga.core.Config;
import io.virga.core.InvalidInputException;
import io.virga.core.VirgaException;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

class RpcTransportsTest {
  @Test
  void inProcessIsTheDefault() {
    try (RpcTransport t = RpcTransports.fromConfig(Config.of(Map.of()))) {
      assertThat(t).isInstanceOf(InProcessTransport.class);
    }
    assertThat(RpcTransports.callTimeout(Config.of(Map.of()))).isEqualTo(Duration.ofSeconds(60));
    assertThat(RpcTransports.callTimeout(Config.of(Map.of("rpc_response_timeout", "5"))))
        .isEqualTo(Duration.ofSeconds(5));
  }

  @Test
  void anUnknownSchemeIsRefusedWithoutShowingThePassword() {
    assertThatThrownBy(
            () ->
                RpcTransports.fromConfig(Config.of(Map.of("transport_url", "kafka://u:secret@h/"))))
        .isInstanceOf(InvalidInputException.class)
        .hasMessageContaining("kafka://***@h/")
        .hasMessageNotContaining("secret");
  }

  @Test
  void anUnreachableBrokerSaysWhatToCheck() {
    assertThatThrownBy(
            () ->
                RpcTransports.fromConfig(
                    Config.of(Map.of("transport_url", "amqp://guest:guest@127.0.0.1:1/%2F"))))
        .isInstanceOf(VirgaException.class)
        .hasMessageContaining("is the broker running")
        .hasMessageNotContaining("guest:guest");
  }
}
