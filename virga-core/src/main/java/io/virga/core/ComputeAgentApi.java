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

  // ---- the rest of a server's life (rebuild, rescue); defaults for agents without them ----

  /**
   * Rebuild in place from {@code imageRef} (already written to the instance row): root disk and
   * config drive recreated, ephemeral kept when {@code preserveEphemeral}; ends in the power state
   * the instance had.
   */
  default void rebuildInstance(String uuid, String imageRef, boolean preserveEphemeral) {
    throw new NotImplementedException("rebuild is not implemented by this agent");
  }

  /** Boot the rescue image with the instance's root disk attached second (vm_state rescued). */
  default void rescueInstance(String uuid, String rescueImageRef) {
    throw new NotImplementedException("rescue is not implemented by this agent");
  }

  /** Back from rescue to the instance's own domain. */
  default void unrescueInstance(String uuid) {
    throw new NotImplementedException("unrescue is not implemented by this agent");
  }

  /**
   * Shelve: clean power-off, snapshot into image {@code imageId} (an entry the API queued),
   * vm_state shelved; offloaded at once when the agent's {@code shelved_offload_time} is 0.
   */
  default void shelveInstance(String uuid, String imageId) {
    throw new NotImplementedException("shelve is not implemented by this agent");
  }

  /** Offload a shelved instance: its domain and disks go, the host is freed. */
  default void shelveOffloadInstance(String uuid) {
    throw new NotImplementedException("shelve offload is not implemented by this agent");
  }

  /**
   * Unshelve onto this host: power on a shelved instance still here, or spawn an offloaded one
   * (scheduled here by the API) from the shelve image {@code imageId}, which is then deleted.
   */
  default void unshelveInstance(String uuid, String imageId) {
    throw new NotImplementedException("unshelve is not implemented by this agent");
  }

  /** createBackup: a snapshot into {@code imageId}, then only the newest {@code rotation} kept. */
  default void backupInstance(String uuid, String imageId, String backupType, int rotation) {
    throw new NotImplementedException("backup is not implemented by this agent");
  }
}
