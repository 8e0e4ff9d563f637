package io.virga.testing;

import java.util.concurrent.Callable;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * A fixture started once before a test class's tests and closed after them — a throw-away
 * PostgreSQL server, a RabbitMQ broker — as a JUnit extension, so no test class writes the start
 * and stop again:
 *
 * <pre>{@code
 * @RegisterExtension
 * static final PerClassFixture<PostgresFixture> pg = new PerClassFixture<>(PostgresFixture::start);
 * }</pre>
 *
 * {@code @Nested} classes share their enclosing class's instance: it is closed by the class that
 * started it.
 */
public final class PerClassFixture<T extends AutoCloseable>
    implements BeforeAllCallback, AfterAllCallback {
  private final Callable<T> start;
  private T fixture;
  private String owner;

  public PerClassFixture(Callable<T> start) {
    this.start = start;
  }

  @Override
  public void beforeAll(ExtensionContext context) throws Exception {
    if (fixture == null) {
      fixture = start.call();
      owner = context.getUniqueId();
    }
  }

  @Override
  public void afterAll(ExtensionContext context) throws Exception {
    if (fixture != null && context.getUniqueId().equals(owner)) {
      try {
        fixture.close();
      } finally {
        fixture = null;
      }
    }
  }

  /** The running fixture (between the class's start and end). */
  public T get() {
    if (fixture == null) {
      throw new IllegalStateException("the fixture runs only while its test class does");
    }
    return fixture;
  }
}
