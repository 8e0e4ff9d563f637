package io.virga.rpc;

/** The RPC contract over the in-process transport of {@code virga up}. */
class RpcTest extends RpcContract {
  @Override
  RpcTransport newTransport() {
    return new InProcessTransport(4);
  }
}
