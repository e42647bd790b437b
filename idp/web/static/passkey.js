// The browser half of the passkey ceremonies (W3C WebAuthn L2 §5.1.3 create, §5.1.4 get).
// Loaded only by the passkey pages, whose CSP allows script-src 'self' and nothing inline.
// The server puts the options (JSON, binary fields base64url) in data-passkey-options; this
// script turns them into ArrayBuffers, asks the authenticator, and posts the response as JSON
// (the shape of WebAuthn L3 RegistrationResponseJSON / AuthenticationResponseJSON) in the
// form's hidden "credential" field. The server checks everything; this file only carries data.
"use strict";

(function () {
  const form = document.querySelector("form[data-passkey-ceremony]");
  if (!form) {
    return;
  }
  const status = document.getElementById("passkey-status");
  const ceremony = form.dataset.passkeyCeremony;
  const actionValue = ceremony === "create" ? "register" : "login";

  function say(text) {
    status.textContent = text;
    status.hidden = false;
  }

  function fromBase64url(text) {
    const base64 = text.replace(/-/g, "+").replace(/_/g, "/");
    const padded = base64 + "===".slice((base64.length + 3) % 4);
    const binary = atob(padded);
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i += 1) {
      bytes[i] = binary.charCodeAt(i);
    }
    return bytes.buffer;
  }

  function toBase64url(buffer) {
    const bytes = new Uint8Array(buffer);
    let binary = "";
    for (let i = 0; i < bytes.length; i += 1) {
      binary += String.fromCharCode(bytes[i]);
    }
    return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function descriptors(list) {
    return (list || []).map((d) => ({ ...d, id: fromBase64url(d.id) }));
  }

  function publicKeyOptions(options) {
    const publicKey = { ...options, challenge: fromBase64url(options.challenge) };
    if (ceremony === "create") {
      publicKey.user = { ...options.user, id: fromBase64url(options.user.id) };
      publicKey.excludeCredentials = descriptors(options.excludeCredentials);
    } else {
      publicKey.allowCredentials = descriptors(options.allowCredentials);
    }
    return publicKey;
  }

  function responseJSON(credential) {
    const r = credential.response;
    const response = { clientDataJSON: toBase64url(r.clientDataJSON) };
    if (ceremony === "create") {
      response.attestationObject = toBase64url(r.attestationObject);
      response.transports = typeof r.getTransports === "function" ? r.getTransports() : [];
    } else {
      response.authenticatorData = toBase64url(r.authenticatorData);
      response.signature = toBase64url(r.signature);
      if (r.userHandle) {
        response.userHandle = toBase64url(r.userHandle);
      }
    }
    return {
      id: credential.id,
      rawId: toBase64url(credential.rawId),
      type: credential.type,
      response: response,
      authenticatorAttachment: credential.authenticatorAttachment || undefined,
      clientExtensionResults: credential.getClientExtensionResults(),
    };
  }

  if (!window.PublicKeyCredential || !navigator.credentials) {
    say("This browser cannot use passkeys. Use another browser or another login method.");
    return;
  }

  let ready = false;
  form.addEventListener("submit", async (event) => {
    const submitter = event.submitter;
    if (ready || !submitter || submitter.value !== actionValue) {
      return; // Cancel, or the second pass below: let the browser post the form.
    }
    event.preventDefault();
    const publicKey = publicKeyOptions(JSON.parse(form.dataset.passkeyOptions));
    try {
      const credential =
        ceremony === "create"
          ? await navigator.credentials.create({ publicKey })
          : await navigator.credentials.get({ publicKey });
      form.elements.credential.value = JSON.stringify(responseJSON(credential));
    } catch (error) {
      say(
        `The passkey was not used (${error.name}). Try again` +
          (ceremony === "get" ? ", or choose another login method." : "."),
      );
      return;
    }
    ready = true;
    form.requestSubmit(submitter);
  });
})();
