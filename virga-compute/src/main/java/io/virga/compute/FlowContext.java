package io.virga.compute;

import io.virga.core.ConductorApi;
import io.virga.virt.ComputeDriver;

/**
 * What the instance flows ({@link InstanceFlows}, {@link LifecycleFlows}, {@link ShelveFlows}) all
 * work with, built once by {@link ComputeManager}; {@link #actionRun()} is the frame each of their
 * actions runs in.
 */
record FlowContext(
    ComputeDriver driver,
    TaskStates tasks,
    SpecBuilder specs,
    ImageSourceFactory images,
    ComputeOptions options,
    ResourceTracker tracker) {

  ConductorApi conductor() {
    return tasks.conductor();
  }

  ActionRun actionRun() {
    return new ActionRun(tasks, tracker);
  }
}
