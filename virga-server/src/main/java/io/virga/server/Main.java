package io.virga.server;

import io.virga.core.VirgaException;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code virga} command. */
@Command(
    name = "virga",
    mixinStandardHelpOptions = true,
    version = "virga 0.1.0",
    description = "A compute service for KVM/QEMU hosts with an OpenStack-compatible API.",
    subcommands = {
      CommandLine.HelpCommand.class,
      ApiCommand.class,
      AgentCommand.class,
      HostSetupCommand.class,
      ImageCommand.class,
      UpCommand.class,
      UpCommand.Status.class
    })
public final class Main implements Runnable {

  public static void main(String[] args) {
    System.exit(commandLine().execute(args));
  }

  /** The command line with Virga's error handling: a VirgaException prints its message only. */
  static CommandLine commandLine() {
    CommandLine cl = new CommandLine(new Main());
    cl.setExecutionExceptionHandler(
        (e, cmd, parsed) -> {
          if (e instanceof VirgaException) {
            cmd.getErr().println("virga " + cmd.getCommandName() + ": " + e.getMessage());
            return 1;
          }
          throw e;
        });
    return cl;
  }

  @Override
  public void run() {
    new CommandLine(this).usage(System.out);
  }
}
