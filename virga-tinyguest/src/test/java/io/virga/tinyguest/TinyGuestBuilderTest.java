package io.virga.tinyguest;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

class TinyGuestBuilderTest {
  @Test
  void theCacheKeyChangesWithEveryInputAndOnlyThen() {
    Map<String, String> inputs = new TreeMap<>();
    inputs.put("kernel.version", "6.1.192-2");
    inputs.put("busybox.version", "1:1.35.0-4");
    String key = TinyGuestBuilder.key(inputs);

    assertThat(TinyGuestBuilder.key(new TreeMap<>(inputs))).isEqualTo(key).hasSize(16);
    Map<String, String> newerKernel = new TreeMap<>(inputs);
    newerKernel.put("kernel.version", "6.1.193-1");
    assertThat(TinyGuestBuilder.key(newerKernel)).isNotEqualTo(key);
    Map<String, String> otherScript = new TreeMap<>(inputs);
    otherScript.put("script.init", "abc");
    assertThat(TinyGuestBuilder.key(otherScript)).isNotEqualTo(key);
  }

  @Test
  void everyGuestScriptIsPackagedAndExecutableScriptsStartWithAShebang() {
    for (String script : TinyGuestInitramfs.SCRIPTS.keySet()) {
      String text =
          new String(TinyGuestInitramfs.resource(script), java.nio.charset.StandardCharsets.UTF_8);
      if (!script.endsWith(".sh")) {
        assertThat(text).as(script).startsWith("#!/bin/sh\n");
      }
      assertThat(text).as(script).doesNotContain("\r");
    }
    assertThat(
            new String(
                TinyGuestInitramfs.resource("syslinux.cfg"),
                java.nio.charset.StandardCharsets.UTF_8))
        .contains("@CMDLINE@");
  }
}
