package io.virga.core;

import java.util.List;

/**
 * A {@link Command} that could not start, was killed at its time limit, or exited non-zero. The
 * message names the command and carries its stderr; {@link #exitCode()} is -1 when the command did
 * not run to completion.
 */
public class CommandException extends VirgaException {
  private static final long serialVersionUID = 1L;

  private final List<String> command;
  private final int exitCode;
  private final String stderr;

  CommandException(String message, List<String> command, Throwable cause) {
    super(message, cause);
    this.command = List.copyOf(command);
    this.exitCode = -1;
    this.stderr = "";
  }

  private CommandException(String message, List<String> command, int exitCode, String stderr) {
    super(message);
    this.command = List.copyOf(command);
    this.exitCode = exitCode;
    this.stderr = stderr;
  }

  static CommandException failed(Command.Result r) {
    String hint =
        r.exitCode() > 128 ? " (killed by signal " + (r.exitCode() - 128) + ", a limit?)" : "";
    String detail = r.stderr().isBlank() ? r.stdout().strip() : r.stderr().strip();
    return new CommandException(
        String.join(" ", r.command())
            + " failed with exit code "
            + r.exitCode()
            + hint
            + (detail.isEmpty() ? "" : ": " + detail),
        r.command(),
        r.exitCode(),
        r.stderr().strip());
  }

  public List<String> command() {
    return command;
  }

  /** The exit code, or -1 when the command did not run to completion. */
  public int exitCode() {
    return exitCode;
  }

  public String stderr() {
    return stderr;
  }
}
