package io.virga.rpc;

import static org.assertj.core.api.Assertions.assertThat;

import io.virga.core.ConductorApi;
import io.virga.core.NotFoundException;
import io.virga.testing.PerClassFixture;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The RPC contract over a real RabbitMQ broker (started by the test from the Debian package), plus
 * what only a broker adds: the two sides on separate connections, as {@code virga api} and {@code
 * virga agent} on separate hosts would be.
 */
class RabbitTransportIT extends RpcContract {
  @RegisterExtension static final PerClassFixture<RabbitBroker> broker = RabbitBroker.perClass();

  @Override
  RpcTransport newTransport() {
    return RabbitTransport.connect(broker.get().uri(), 4);
  }

  @Test
  void serverAndClientOnSeparateConnections() {
    RecordingConductor impl = new RecordingConductor();
    var row = instance("u-9");
    impl.rows.put("u-9", row);
    try (RpcTransport serverSide = newTransport();
        var l = Rpc.serve(serverSide, "conductor-it", ConductorApi.class, impl)) {
      ConductorApi c =
          Rpc.callingClient(ConductorApi.class, transport, "conductor-it", Duration.ofSeconds(10));
      assertThat(c.getInstance("u-9")).isEqualTo(row);
      org.assertj.core.api.Assertions.assertThatThrownBy(() -> c.getInstance("nope"))
          .isExactlyInstanceOf(NotFoundException.class);
    }
  }
}
