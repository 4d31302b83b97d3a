package io.vigil.server.management;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import io.vigil.client.ServerStatus;
import io.vigil.server.http.ApiException;
import io.vigil.server.security.Principal;
import io.vigil.server.security.Role;
import java.time.Instant;
import java.util.Set;
import java.util.UUID;
import org.junit.jupiter.api.Test;

class ServerOwnershipTest {

  static final Principal RECORDER = client("rec-a", Role.COMPONENT);
  static final Principal OTHER_RECORDER = client("rec-b", Role.COMPONENT);
  static final Principal OPERATOR = user("oscar", Role.OPERATOR);

  static Principal client(String clientId, Role... roles) {
    return new Principal(clientId, clientId, clientId, Set.of(roles), Set.of("vigil.api"));
  }

  static Principal user(String name, Role... roles) {
    return new Principal(
        UUID.randomUUID().toString(), name, "vigil-cli", Set.of(roles), Set.of("vigil.api"));
  }

  static Server server(String registeredBy, ServerStatus status) {
    Instant t = Instant.parse("2025-01-01T00:00:00Z");
    return new Server(
        UUID.randomUUID(),
        "rec",
        "recording-server",
        "http://rec:7563",
        "24.1",
        status.id(),
        3,
        t,
        registeredBy,
        t,
        null,
        5,
        "unknown",
        null);
  }

  static ApiException refusal(Runnable check) {
    return catchThrowableOfType(ApiException.class, check::run);
  }

  @Test
  void aComponentClientIsRecordedAsTheRegistrantAndOthersAreNot() {
    assertThat(ServerOwnership.registrant(RECORDER)).isEqualTo("rec-a");
    assertThat(ServerOwnership.registrant(OPERATOR)).isNull();
    assertThat(ServerOwnership.registrant(user("mallory", Role.COMPONENT))).isNull();
    assertThat(ServerOwnership.registrant(client("automation", Role.OPERATOR))).isNull();
    assertThat(ServerOwnership.registrant(client("both", Role.COMPONENT, Role.OPERATOR))).isNull();
  }

  @Test
  void aComponentMayChangeOnlyTheServerItRegistered() {
    Server own = server("rec-a", ServerStatus.ONLINE);
    assertThatCode(() -> ServerOwnership.checkChange(RECORDER, own)).doesNotThrowAnyException();

    ApiException refused = refusal(() -> ServerOwnership.checkChange(OTHER_RECORDER, own));
    assertThat(refused.status()).isEqualTo(403);
    assertThat(refused.code()).isEqualTo("not_your_server");
    assertThat(refused.getMessage())
        .contains(own.id().toString())
        .contains("another client or by an operator");
  }

  @Test
  void aServerWithoutRegistrantIsNoComponentsServer() {
    Server unowned = server(null, ServerStatus.ONLINE);
    assertThat(refusal(() -> ServerOwnership.checkChange(RECORDER, unowned)).code())
        .isEqualTo("not_your_server");
  }

  @Test
  void usersAndNonComponentClientsMayChangeAnyServer() {
    for (Principal caller :
        new Principal[] {
          OPERATOR,
          user("alice", Role.ADMINISTRATOR),
          client("automation", Role.OPERATOR),
          client("both", Role.COMPONENT, Role.OPERATOR)
        }) {
      for (Server s :
          new Server[] {
            server("rec-a", ServerStatus.ONLINE), server(null, ServerStatus.DISABLED)
          }) {
        assertThatCode(() -> ServerOwnership.checkChange(caller, s))
            .as(caller.name())
            .doesNotThrowAnyException();
        for (ServerStatus status : ServerStatus.values()) {
          assertThatCode(() -> ServerOwnership.checkStatusChange(caller, s, status))
              .as(caller.name() + " -> " + status)
              .doesNotThrowAnyException();
        }
      }
    }
  }

  @Test
  void aComponentNeverSetsTheDisabledStatusOfItsOwnServer() {
    Server own = server("rec-a", ServerStatus.ONLINE);
    ApiException refused =
        refusal(() -> ServerOwnership.checkStatusChange(RECORDER, own, ServerStatus.DISABLED));
    assertThat(refused.status()).isEqualTo(403);
    assertThat(refused.code()).isEqualTo("disabled_status_reserved");
    assertThat(refused.getMessage()).contains(own.id().toString());

    Server disabled = server("rec-a", ServerStatus.DISABLED);
    for (ServerStatus status : ServerStatus.values()) {
      assertThat(
              refusal(() -> ServerOwnership.checkStatusChange(RECORDER, disabled, status)).code())
          .as(status.id())
          .isEqualTo("disabled_status_reserved");
    }
  }

  @Test
  void aComponentMaySetItsOwnServerOnlineOrOffline() {
    Server own = server("rec-a", ServerStatus.UNKNOWN);
    for (ServerStatus status :
        new ServerStatus[] {ServerStatus.ONLINE, ServerStatus.OFFLINE, ServerStatus.UNKNOWN}) {
      assertThatCode(() -> ServerOwnership.checkStatusChange(RECORDER, own, status))
          .doesNotThrowAnyException();
    }
    assertThatCode(() -> ServerOwnership.checkStatusChange(RECORDER, own, null))
        .doesNotThrowAnyException();
  }
}
