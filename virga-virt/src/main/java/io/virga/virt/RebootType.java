package io.virga.virt;

public enum RebootType {
  SOFT,
  HARD
}
