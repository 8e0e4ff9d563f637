package io.virga.compute;

import static org.assertj.core.api.Assertions.assertThat;

import io.virga.core.Instance;
import io.virga.core.TaskState;
import io.virga.core.VmState;
import io.virga.virt.InstanceSpec;
import java.nio.charset.StandardCharsets;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class SpecBuilderTest {
  final FakeConductor conductor = new FakeConductor();

  @Test
  void theSpecCarriesNovasDomainNameDecodedUserDataAndTheImage() {
    Instance row =
        conductor.add(
            FakeConductor.newInstance(
                "0b6f1c9e-0000-4000-8000-000000000001",
                "host1",
                VmState.BUILDING,
                Optional.of(TaskState.SCHEDULING)));
    InstanceSpec spec = new SpecBuilder(conductor).forBuild(row);
    assertThat(row.id()).isEqualTo(1);
    assertThat(spec.domainName()).isEqualTo("instance-00000001");
    assertThat(new String(spec.userData().orElseThrow(), StandardCharsets.UTF_8))
        .isEqualTo("#!/bin/sh\necho hi");
    assertThat(spec.image()).isEqualTo(FakeConductor.IMAGE);
    assertThat(spec.flavor()).isEqualTo(FakeConductor.TINY);
    assertThat(spec.configDrive()).isTrue();
  }

  @Test
  void userDataThatIsNotBase64IsTakenAsText() {
    assertThat(new String(SpecBuilder.decodeUserData("not base64!"), StandardCharsets.UTF_8))
        .isEqualTo("not base64!");
  }

  @Test
  void anImageDeletedAfterBootDoesNotStopLaterActions() {
    Instance row =
        FakeConductor.withImage(
            FakeConductor.newInstance(
                "0b6f1c9e-0000-4000-8000-000000000002", "host1", VmState.ACTIVE, Optional.empty()),
            "gone-image");
    InstanceSpec spec = new SpecBuilder(conductor).build(row);
    assertThat(spec.image().id()).isEqualTo("gone-image");
    assertThat(spec.domainName()).isEqualTo("instance-0b6f1c9e-0000-4000-8000-000000000002");
  }
}
