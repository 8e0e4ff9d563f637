package io.virga.server;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code virga} command. */
@Command(
    name = "virga",
    mixinStandardHelpOptions = true,
    version = "virga 0.1.0",
    description = "A compute service for KVM/QEMU hosts with an OpenStack-compatible API.",
    subcommands = {CommandLine.HelpCommand.class})
public final class Main implements Runnable {

  public static void main(String[] args) {
    System.exit(new CommandLine(new Main()).execute(args));
  }

  @Override
  public void run() {
    new CommandLine(this).usage(System.out);
  }
}
