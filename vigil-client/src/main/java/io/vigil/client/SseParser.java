package io.vigil.client;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * Reads Server-Sent Events line by line (the WHATWG event-stream format): {@code event:}, {@code
 * id:} and {@code data:} fields, a blank line dispatching the message; comment lines (a leading
 * {@code :}) and unknown fields are ignored; several {@code data:} lines are joined with newlines.
 */
final class SseParser {

  /** A dispatched message; {@code id} is null when the message carried none. */
  record Message(String event, String id, String data) {}

  private final Consumer<Message> sink;
  private String event;
  private String id;
  private final List<String> data = new ArrayList<>();

  SseParser(Consumer<Message> sink) {
    this.sink = sink;
  }

  void line(String line) {
    if (line.isEmpty()) {
      if (!data.isEmpty()) {
        sink.accept(new Message(event == null ? "message" : event, id, String.join("\n", data)));
      }
      event = null;
      id = null;
      data.clear();
      return;
    }
    if (line.startsWith(":")) {
      return;
    }
    int colon = line.indexOf(':');
    String field = colon < 0 ? line : line.substring(0, colon);
    String value = colon < 0 ? "" : line.substring(colon + 1);
    if (value.startsWith(" ")) {
      value = value.substring(1);
    }
    switch (field) {
      case "event" -> event = value;
      case "id" -> {
        if (value.indexOf('\0') < 0) {
          id = value;
        }
      }
      case "data" -> data.add(value);
      default -> {}
    }
  }
}
