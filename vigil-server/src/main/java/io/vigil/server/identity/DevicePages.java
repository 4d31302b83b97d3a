package io.vigil.server.identity;

import com.nimbusds.oauth2.sdk.pkce.CodeChallenge;
import com.nimbusds.oauth2.sdk.pkce.CodeChallengeMethod;
import com.nimbusds.oauth2.sdk.pkce.CodeVerifier;
import io.javalin.http.Context;
import io.javalin.http.HandlerType;
import io.javalin.http.HttpStatus;
import io.vigil.server.cluster.Fence;
import io.vigil.server.http.Api;
import io.vigil.server.http.ClientAddress;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;

/**
 * The device page, {@code <issuer>/device} (RFC 8628 3.3): where a person enters the user code a
 * device shows, signs in, and approves or denies the device.
 *
 * <p>Signing in is not done here but by the authorization endpoint, with the sign-in page every
 * other browser sign-in uses: this page sends the browser there as a client would (the device's
 * client, redirect URI {@code <issuer>/device/callback}, PKCE S256, a {@code state} naming the
 * device authorization), and the callback redeems the code it gets back. So the device grant asks
 * for exactly what a browser sign-in asks for — password, external providers, every check and
 * throttle of the sign-in page — and for nothing less. After the sign-in the page asks the user to
 * approve; the form carries a single-use consent token issued to the browser that signed in.
 *
 * <p>Wrong user codes are limited per address ({@link UserCodeGuesses}).
 */
final class DevicePages {

  static final String CALLBACK = "/device/callback";

  private final String issuer;
  private final DeviceAuthorizations devices;
  private final UserCodeGuesses guesses;
  private final AuthorizationCodes codes;
  private final UserService users;
  private final Fence fence;

  DevicePages(
      String issuer,
      DeviceAuthorizations devices,
      UserCodeGuesses guesses,
      AuthorizationCodes codes,
      UserService users,
      Fence fence) {
    this.issuer = issuer;
    this.devices = devices;
    this.guesses = guesses;
    this.codes = codes;
    this.users = users;
    this.fence = fence;
  }

  void register(Api api) {
    api.open(HandlerType.GET, "/idp/device", this::entryPage);
    api.open(HandlerType.POST, "/idp/device", this::enterCode);
    api.open(HandlerType.GET, "/idp" + CALLBACK, this::callback);
    api.open(HandlerType.POST, "/idp/device/consent", this::consent);
  }

  /** {@code GET /idp/device[?user_code=…]}: the form, filled in from the complete URI. */
  private void entryPage(Context ctx) {
    entryForm(ctx, 200, Optional.ofNullable(ctx.queryParam("user_code")).orElse(""), null);
  }

  /** {@code POST /idp/device}: a user code; on to the sign-in page if it is a live one. */
  private void enterCode(Context ctx) {
    String address = ClientAddress.of(ctx).address();
    String typed = Optional.ofNullable(ctx.formParam("user_code")).orElse("").strip();
    Optional<Duration> wait = guesses.refusal(address);
    if (wait.isPresent()) {
      long seconds = Math.max(1, (wait.get().toMillis() + 999) / 1000);
      ctx.header("Retry-After", Long.toString(seconds));
      entryForm(
          ctx,
          429,
          typed,
          "Too many wrong codes from this address; try again in "
              + Math.max(1, (seconds + 59) / 60)
              + " minutes.");
      return;
    }
    Optional<DeviceAuthorizations.SignIn> signIn =
        DeviceFlow.normalize(typed).flatMap(devices::beginSignIn);
    if (signIn.isEmpty()) {
      guesses.failed(address);
      entryForm(
          ctx,
          400,
          typed,
          "That code is not valid: check it against the one your device shows, or start the"
              + " sign-in on your device again if it has expired.");
      return;
    }
    DeviceAuthorizations.SignIn s = signIn.get();
    Map<String, String> query = new LinkedHashMap<>();
    query.put("client_id", s.clientId());
    query.put("redirect_uri", issuer + CALLBACK);
    query.put("response_type", "code");
    query.put("scope", "openid");
    query.put("state", s.state());
    query.put(
        "code_challenge",
        CodeChallenge.compute(CodeChallengeMethod.S256, new CodeVerifier(s.verifier())).getValue());
    query.put("code_challenge_method", "S256");
    StringBuilder location = new StringBuilder("connect/authorize");
    query.forEach(
        (k, v) ->
            location
                .append(location.indexOf("?") < 0 ? '?' : '&')
                .append(k)
                .append('=')
                .append(URLEncoder.encode(v, StandardCharsets.UTF_8)));
    ctx.redirect(location.toString(), HttpStatus.SEE_OTHER);
  }

  /** What the sign-in callback found: the consent page to show, or an error. */
  private record SignedIn(String username, String consent) {}

  /**
   * {@code GET /idp/device/callback?code&state}: the sign-in page's answer. Uses up the state and
   * the code in one fenced transaction and asks the user to approve.
   */
  private void callback(Context ctx) {
    String state = ctx.queryParam("state");
    String code = ctx.queryParam("code");
    if (state == null || state.isEmpty()) {
      message(ctx, 400, "Sign-in failed", "The sign-in answer is incomplete: it has no state.");
      return;
    }
    Object outcome =
        fence.write(
            h -> {
              Optional<DeviceAuthorizations.Pending> pending =
                  DeviceAuthorizations.takeSignIn(h, state);
              if (pending.isEmpty()) {
                return "This sign-in link was already used or is not known here; enter the code"
                    + " at the device page again.";
              }
              DeviceAuthorizations.Pending p = pending.get();
              if (code == null || code.isEmpty()) {
                return "The sign-in did not complete; enter the code at the device page again.";
              }
              AuthorizationCodes.Redemption redemption =
                  codes.redeem(h, code, p.clientId(), issuer + CALLBACK, p.verifier());
              if (redemption instanceof AuthorizationCodes.Redemption.Rejected r) {
                return r.reason();
              }
              if (redemption instanceof AuthorizationCodes.Redemption.Replayed r) {
                return r.reason();
              }
              AuthorizationCodes.Grant grant =
                  ((AuthorizationCodes.Redemption.Redeemed) redemption).grant();
              Optional<User> user = users.find(h, grant.userId()).filter(User::enabled);
              if (user.isEmpty()) {
                return "This user may not sign in.";
              }
              Instant now = DeviceAuthorizations.now(h);
              if (p.state().status() != DeviceFlow.Status.PENDING || p.state().expiredAt(now)) {
                return "The code has expired or was already used; start the sign-in on your"
                    + " device again.";
              }
              UUID id = grant.userId();
              return new SignedIn(
                  user.get().username(),
                  DeviceAuthorizations.signedIn(h, p.deviceCodeHash(), id, grant.authTime()));
            });
    if (outcome instanceof String error) {
      message(ctx, 400, "Sign-in failed", error);
      return;
    }
    SignedIn signedIn = (SignedIn) outcome;
    page(
        ctx,
        200,
        "Approve the device",
        "<p>You are signed in as <strong id=\"username\">"
            + IdpEndpoints.escape(signedIn.username())
            + "</strong>. A device asks to sign in to Vigil as you, with your permissions.</p>\n"
            + "<p>Approve only if you started this sign-in yourself, on a device you use.</p>\n"
            + "<form method=\"post\" action=\"consent\">\n"
            + "<input type=\"hidden\" name=\"consent\" value=\""
            + IdpEndpoints.escape(signedIn.consent())
            + "\">\n<button type=\"submit\" name=\"decision\" value=\"approve\">Approve</button>\n"
            + "<button type=\"submit\" name=\"decision\" value=\"deny\">Deny</button>\n</form>\n");
  }

  /** {@code POST /idp/device/consent}: approve or deny. */
  private void consent(Context ctx) {
    String consent = ctx.formParam("consent");
    String decision = ctx.formParam("decision");
    if (consent == null || !List.of("approve", "deny").contains(decision)) {
      message(ctx, 400, "Not approved", "Choose Approve or Deny on the approval page.");
      return;
    }
    boolean approve = "approve".equals(decision);
    switch (devices.decide(consent, approve)) {
      case DeviceFlow.Decision.Refused r -> message(ctx, 400, "Not approved", r.reason());
      case DeviceFlow.Decision.Taken t ->
          message(
              ctx,
              200,
              approve ? "Device approved" : "Device denied",
              approve
                  ? "The device is signed in. You can close this window and return to it."
                  : "The device was not signed in. You can close this window.");
    }
  }

  private void entryForm(Context ctx, int status, String userCode, String error) {
    page(
        ctx,
        status,
        "Sign in a device",
        (error == null ? "" : "<p class=\"error\" role=\"alert\">" + IdpEndpoints.escape(error))
            + (error == null ? "" : "</p>\n")
            + "<p>Enter the code your device shows.</p>\n<form method=\"post\" action=\"device\">\n"
            + "<label for=\"user_code\">Code</label><input id=\"user_code\" name=\"user_code\""
            + " autocomplete=\"off\" autocapitalize=\"characters\" spellcheck=\"false\" required"
            + " value=\""
            + IdpEndpoints.escape(userCode)
            + "\">\n<button type=\"submit\">Continue</button>\n</form>\n");
  }

  private static void message(Context ctx, int status, String title, String text) {
    page(
        ctx,
        status,
        title,
        "<p id=\"message\""
            + (status >= 400 ? " role=\"alert\"" : "")
            + ">"
            + IdpEndpoints.escape(text)
            + "</p>\n");
  }

  private static void page(Context ctx, int status, String title, String body) {
    IdpEndpoints.htmlHeaders(ctx);
    ctx.status(status)
        .result(
            "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>"
                + IdpEndpoints.escape(title)
                + "</title>\n<style>body{font-family:sans-serif;max-width:22em;margin:4em auto}"
                + "label,input,button{display:block;width:100%;margin:.4em 0}"
                + ".error{color:#b00020}</style></head><body>\n<h1>"
                + IdpEndpoints.escape(title)
                + "</h1>\n"
                + body
                + "</body></html>\n");
  }
}
