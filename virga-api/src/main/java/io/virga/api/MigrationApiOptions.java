package io.virga.api;

import io.virga.core.Config;
import java.time.Duration;

/**
 * The control plane's migration options (Nova's names and defaults).
 *
 * @param allowResizeToSameHost a resize may pick the host the server is on ({@code
 *     allow_resize_to_same_host}, false); a cold migration never does
 * @param resizeConfirmWindow a resize waiting in VERIFY_RESIZE this long is confirmed by itself
 *     ({@code resize_confirm_window} seconds, 0 = never, as in Nova)
 */
public record MigrationApiOptions(boolean allowResizeToSameHost, Duration resizeConfirmWindow) {

  public static MigrationApiOptions from(Config c) {
    return new MigrationApiOptions(
        c.bool("allow_resize_to_same_host", false), c.seconds("resize_confirm_window", 0));
  }
}
