package io.virga.core;

/**
 * What the API side asks of a compute agent, over RPC on topic {@code compute.<host>}. Methods
 * returning void are casts (fire and forget); others are calls with a timeout. Arguments and
 * results are records serialisable as JSON. Add methods as flows need them.
 */
public interface ComputeAgentApi {
  /** Spawn an instance already scheduled to this host (task_state scheduling). */
  void buildAndRunInstance(String uuid);

  void stopInstance(String uuid);

  void startInstance(String uuid);

  /**
   * @param hard true for HARD, false for SOFT
   */
  void rebootInstance(String uuid, boolean hard);

  void pauseInstance(String uuid);

  void unpauseInstance(String uuid);

  void suspendInstance(String uuid);

  void resumeInstance(String uuid);

  void terminateInstance(String uuid);

  void snapshotInstance(String uuid, String imageId);

  /** A call: the last {@code maxLines} lines of the serial console (all when negative). */
  String getConsoleOutput(String uuid, int maxLines);

  /**
   * A call: the host's uptime line, as the {@code uptime} command prints it (Nova's {@code
   * get_host_uptime}); agents that cannot tell answer 501.
   */
  default String getHostUptime() {
    throw new NotImplementedException("this compute agent does not report the host's uptime");
  }

  /** A call: the instance's diagnostics from its hypervisor (Nova's get_instance_diagnostics). */
  default InstanceDiagnostics getInstanceDiagnostics(String uuid) {
    throw new NotImplementedException("this compute agent does not report diagnostics");
  }
}
