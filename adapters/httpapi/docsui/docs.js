// Starts Swagger UI on the OpenAPI document of the server that serves this
// page. A file, not an inline script: the page's Content-Security-Policy
// runs scripts from this origin only.
"use strict";

(function () {
  // The security scheme of api/openapi.yaml that protected routes use.
  var scheme = "bearerAuth";

  // isLogin reports whether a response is a successful POST /api/v1/auth/login.
  function isLogin(res) {
    if (!res.ok || !res.body || typeof res.body.access_token !== "string") {
      return false;
    }
    try {
      return new URL(res.url, window.location.href).pathname === "/api/v1/auth/login";
    } catch (e) {
      return false;
    }
  }

  var ui = window.SwaggerUIBundle({
    url: "/openapi.json",
    dom_id: "#swagger-ui",
    presets: [window.SwaggerUIBundle.presets.apis],
    plugins: [window.SwaggerUIBundle.plugins.DownloadUrl],
    layout: "BaseLayout",
    deepLinking: true,
    // Every operation opens ready to send; the token from "Authorize" (or
    // from a login sent here, below) survives reloads in local storage.
    tryItOutEnabled: true,
    persistAuthorization: true,
    displayRequestDuration: true,
    filter: true,
    // No request to the public validator service: the page talks to this
    // server only.
    validatorUrl: null,
    // A login sent from this page authorizes the page with its token, so
    // that the protected operations can be tried right away.
    responseInterceptor: function (res) {
      if (isLogin(res)) {
        ui.preauthorizeApiKey(scheme, res.body.access_token);
        // preauthorizeApiKey does not save the token as "Authorize" does.
        ui.authActions.persistAuthorizationIfNeeded();
      }
      return res;
    },
  });
  window.ui = ui;
})();
