package io.virga.compute;

import io.virga.core.Instance;
import io.virga.virt.InstanceSpec;

/** Specs for calling the FakeDriver directly from tests, built the way the agent builds them. */
final class FakeDriverSpecs {
  private FakeDriverSpecs() {}

  static InstanceSpec of(Instance i) {
    return new SpecBuilder(new FakeConductor()).build(i);
  }
}
