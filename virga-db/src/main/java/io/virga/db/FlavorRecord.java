package io.virga.db;

import io.virga.core.Flavor;
import java.util.Optional;

/**
 * A flavor row: the sizes and extra specs every instance copies, plus what only the flavor API
 * shows.
 */
public record FlavorRecord(
    long id,
    Flavor flavor,
    double rxtxFactor,
    boolean isPublic,
    boolean disabled,
    Optional<String> description) {}
