# ruff: noqa: E501 - the templates are rule scripts, kept as their authors would write them
"""Enrichment and webhook templates: FullContact, median income by zip code, tweet sentiment,
a Salesforce lead on first login, a login webhook. Third-party errors are swallowed so that an
outage never blocks a login (the templates are also created fail-open)."""

from __future__ import annotations

from typing import Any

FULLCONTACT_PY = '''\
def rule(user, context, configuration, api):
    """FullContact Person API: e-mail -> demographics and social profiles."""
    metadata = user.get("user_metadata") or {}
    if not user.get("email") or metadata.get("fullcontact"):
        return user, context
    url = configuration.get("FULLCONTACT_URL") or "https://api.fullcontact.com/v2/person.json"
    try:
        response = api.http.get(
            url, params={"email": user["email"], "apiKey": configuration["FULLCONTACT_KEY"]},
            timeout=5,
        )
    except Exception as error:
        print("fullcontact unavailable:", error)
        return user, context
    if response.status_code != 200:
        return user, context
    metadata["fullcontact"] = response.json()
    user["user_metadata"] = metadata
    api.users.update_user_metadata(user["user_id"], metadata)
    return user, context
'''

FULLCONTACT_JS = """\
function getFullContactProfile(user, context, callback) {
  if (!user.email) return callback(null, user, context);
  if (user.user_metadata && user.user_metadata.fullcontact) return callback(null, user, context);
  request.get({
    url: configuration.FULLCONTACT_URL || 'https://api.fullcontact.com/v2/person.json',
    qs: { email: user.email, apiKey: configuration.FULLCONTACT_KEY },
    timeout: 5000
  }, function (error, response, body) {
    if (error || (response && response.statusCode !== 200)) {
      // swallow fullcontact api errors and just continue login
      return callback(null, user, context);
    }
    user.user_metadata = user.user_metadata || {};
    user.user_metadata.fullcontact = JSON.parse(body);
    auth0.users.updateUserMetadata(user.user_id, user.user_metadata);
    return callback(null, user, context);
  });
}
"""

INCOME_PY = '''\
def rule(user, context, configuration, api):
    """Median household income (ACS table B19013) for the user's zip code, Census API shape."""
    metadata = user.get("user_metadata") or {}
    if "median_household_income" in metadata:
        return user, context
    geoip = (context.get("request") or {}).get("geoip") or {}
    zip_code = metadata.get("zip_code") or geoip.get("postal_code")
    if not zip_code:
        return user, context
    url = configuration.get("CENSUS_URL") or "https://api.census.gov/data/2022/acs/acs5"
    params = {"get": "B19013_001E", "for": "zip code tabulation area:" + str(zip_code)}
    if configuration.get("CENSUS_KEY"):
        params["key"] = configuration["CENSUS_KEY"]
    try:
        response = api.http.get(url, params=params, timeout=5)
        rows = response.json() if response.status_code == 200 else []
        income = int(rows[1][0]) if len(rows) > 1 else None
    except Exception as error:
        print("census unavailable:", error)
        return user, context
    if income is None or income < 0:
        return user, context
    metadata["median_household_income"] = income
    user["user_metadata"] = metadata
    api.users.update_user_metadata(user["user_id"], metadata)
    return user, context
'''

INCOME_JS = """\
function addIncome(user, context, callback) {
  user.user_metadata = user.user_metadata || {};
  if (user.user_metadata.median_household_income !== undefined) return callback(null, user, context);
  var geoip = (context.request || {}).geoip || {};
  var zip = user.user_metadata.zip_code || geoip.postal_code;
  if (!zip) return callback(null, user, context);
  var qs = { get: 'B19013_001E', 'for': 'zip code tabulation area:' + zip };
  if (configuration.CENSUS_KEY) qs.key = configuration.CENSUS_KEY;
  request.get({
    url: configuration.CENSUS_URL || 'https://api.census.gov/data/2022/acs/acs5',
    qs: qs, json: true, timeout: 5000
  }, function (error, response, rows) {
    if (error || response.statusCode !== 200 || !rows || rows.length < 2) return callback(null, user, context);
    var income = parseInt(rows[1][0], 10);
    if (isNaN(income) || income < 0) return callback(null, user, context);
    user.user_metadata.median_household_income = income;
    auth0.users.updateUserMetadata(user.user_id, user.user_metadata)
      .then(function () { callback(null, user, context); })
      .catch(function () { callback(null, user, context); });
  });
}
"""

SENTIMENT_PY = '''\
def _twitter_handle(user):
    if user.get("screen_name"):
        return user["screen_name"]
    for holder in (user.get("user_metadata") or {}, user.get("app_metadata") or {}):
        info = holder.get("fullcontact") or holder.get("fullContactInfo") or {}
        for profile in info.get("socialProfiles") or []:
            if profile.get("type") == "twitter" and profile.get("username"):
                return profile["username"]
    return None


def rule(user, context, configuration, api):
    """Tweet sentiment about the brand, once per user, into app_metadata.sentiment."""
    app_metadata = user.get("app_metadata") or {}
    if app_metadata.get("sentiment_initialized"):
        return user, context
    handle = _twitter_handle(user)
    if not handle:
        return user, context
    try:
        response = api.http.post(
            configuration["SENTIMENT_URL"],
            json={"twitterHandle": handle, "secretToken": configuration.get("SENTIMENT_TOKEN", "")},
            timeout=10,
        )
    except Exception as error:
        print("sentiment API unavailable:", error)
        return user, context
    if response.status_code != 200:
        return user, context
    result = response.json()
    app_metadata["sentiment"] = {"label": result.get("sentiment"), "score": result.get("score")}
    app_metadata["sentiment_initialized"] = True
    user["app_metadata"] = app_metadata
    api.users.update_app_metadata(user["user_id"], app_metadata)
    return user, context
'''

SENTIMENT_JS = """\
function tweetSentiment(user, context, callback) {
  user.app_metadata = user.app_metadata || {};
  if (user.app_metadata.sentiment_initialized) return callback(null, user, context);
  var handle = user.screen_name || null;
  [user.user_metadata || {}, user.app_metadata].forEach(function (holder) {
    var info = holder.fullcontact || holder.fullContactInfo || {};
    (info.socialProfiles || []).forEach(function (p) {
      if (!handle && p.type === 'twitter' && p.username) handle = p.username;
    });
  });
  if (!handle) return callback(null, user, context);
  request.post({
    url: configuration.SENTIMENT_URL,
    json: { twitterHandle: handle, secretToken: configuration.SENTIMENT_TOKEN || '' },
    timeout: 10000
  }, function (err, response, body) {
    if (err || response.statusCode !== 200) return callback(null, user, context);
    user.app_metadata.sentiment = { label: body.sentiment, score: body.score };
    user.app_metadata.sentiment_initialized = true;
    auth0.users.updateAppMetadata(user.user_id, user.app_metadata)
      .then(function () { callback(null, user, context); })
      .catch(function (e) { callback(e); });
  });
}
"""

SALESFORCE_PY = '''\
def rule(user, context, configuration, api):
    """A Salesforce Lead on the first login (OAuth password flow, then sobjects/Lead)."""
    app_metadata = user.get("app_metadata") or {}
    if app_metadata.get("recordedAsLead") or (context.get("stats") or {}).get("loginsCount", 0) > 1:
        return user, context
    base = configuration.get("SALESFORCE_LOGIN_URL") or "https://login.salesforce.com"
    try:
        token = api.http.post(base + "/services/oauth2/token", data={
            "grant_type": "password",
            "client_id": configuration["SALESFORCE_CLIENT_ID"],
            "client_secret": configuration["SALESFORCE_CLIENT_SECRET"],
            "username": configuration["SALESFORCE_USERNAME"],
            "password": configuration["SALESFORCE_PASSWORD"],
        }, timeout=5)
        if token.status_code != 200:
            print("salesforce login refused:", token.status_code)
            return user, context
        session = token.json()
        lead = api.http.post(
            session["instance_url"] + "/services/data/v58.0/sobjects/Lead/",
            headers={"Authorization": "Bearer " + session["access_token"]},
            json={
                "LastName": user.get("family_name") or user.get("name") or user.get("email"),
                "FirstName": user.get("given_name") or "",
                "Company": configuration.get("SALESFORCE_COMPANY") or "Unknown",
                "Email": user.get("email"),
                "LeadSource": "Identa login",
            },
            timeout=5,
        )
    except Exception as error:
        print("salesforce unavailable:", error)
        return user, context
    if lead.status_code == 201:
        app_metadata["recordedAsLead"] = True
        app_metadata["salesforce_lead_id"] = lead.json().get("id")
        user["app_metadata"] = app_metadata
        api.users.update_app_metadata(user["user_id"], app_metadata)
    return user, context
'''

SALESFORCE_JS = """\
function createLeadSalesforce(user, context, callback) {
  user.app_metadata = user.app_metadata || {};
  if (user.app_metadata.recordedAsLead || context.stats.loginsCount > 1) {
    return callback(null, user, context);
  }
  var base = configuration.SALESFORCE_LOGIN_URL || 'https://login.salesforce.com';
  request.post({
    url: base + '/services/oauth2/token',
    form: {
      grant_type: 'password',
      client_id: configuration.SALESFORCE_CLIENT_ID,
      client_secret: configuration.SALESFORCE_CLIENT_SECRET,
      username: configuration.SALESFORCE_USERNAME,
      password: configuration.SALESFORCE_PASSWORD
    },
    timeout: 5000
  }, function (err, response, body) {
    if (err || response.statusCode !== 200) return callback(null, user, context);
    var session = JSON.parse(body);
    request.post({
      url: session.instance_url + '/services/data/v58.0/sobjects/Lead/',
      headers: { Authorization: 'Bearer ' + session.access_token },
      json: {
        LastName: user.family_name || user.name || user.email,
        FirstName: user.given_name || '',
        Company: configuration.SALESFORCE_COMPANY || 'Unknown',
        Email: user.email,
        LeadSource: 'Identa login'
      },
      timeout: 5000
    }, function (e, r, lead) {
      if (e || r.statusCode !== 201) return callback(null, user, context);
      user.app_metadata.recordedAsLead = true;
      user.app_metadata.salesforce_lead_id = lead.id;
      auth0.users.updateAppMetadata(user.user_id, user.app_metadata)
        .then(function () { callback(null, user, context); })
        .catch(function () { callback(null, user, context); });
    });
  });
}
"""

WEBHOOK_PY = '''\
import time


def rule(user, context, configuration, api):
    """POST the login to WEBHOOK_URL (Bearer WEBHOOK_TOKEN when set); failures are logged."""
    headers = {}
    if configuration.get("WEBHOOK_TOKEN"):
        headers["Authorization"] = "Bearer " + configuration["WEBHOOK_TOKEN"]
    request = context.get("request") or {}
    event = {
        "type": "login",
        "user_id": user["user_id"],
        "email": user.get("email"),
        "client_id": context.get("clientID"),
        "client_name": context.get("clientName"),
        "connection": context.get("connection"),
        "protocol": context.get("protocol"),
        "ip": request.get("ip"),
        "user_agent": request.get("userAgent"),
        "logins_count": (context.get("stats") or {}).get("loginsCount"),
        "timestamp": int(time.time()),
    }
    try:
        response = api.http.post(configuration["WEBHOOK_URL"], json=event, headers=headers, timeout=5)
        if response.status_code >= 300:
            print("webhook answered", response.status_code)
    except Exception as error:
        print("webhook unavailable:", error)
    return user, context
'''

WEBHOOK_JS = """\
function sendLoginToWebhook(user, context, callback) {
  var headers = {};
  if (configuration.WEBHOOK_TOKEN) headers.Authorization = 'Bearer ' + configuration.WEBHOOK_TOKEN;
  var req = context.request || {};
  request.post({
    url: configuration.WEBHOOK_URL,
    headers: headers,
    json: {
      type: 'login',
      user_id: user.user_id,
      email: user.email,
      client_id: context.clientID,
      client_name: context.clientName,
      connection: context.connection,
      protocol: context.protocol,
      ip: req.ip,
      user_agent: req.userAgent,
      logins_count: context.stats.loginsCount,
      timestamp: Math.floor(Date.now() / 1000)
    },
    timeout: 5000
  }, function (err, response) {
    if (err) console.log('webhook unavailable: ' + err);
    else if (response.statusCode >= 300) console.log('webhook answered ' + response.statusCode);
    callback(null, user, context);
  });
}
"""

TEMPLATES: tuple[dict[str, Any], ...] = (
    {
        "id": "get-fullcontact-profile",
        "name": "Enrich profile with FullContact",
        "category": "enrich profile",
        "description": "E-mail -> demographics and social profiles into user_metadata.fullcontact "
        "(FullContact Person API); errors swallowed.",
        "python": FULLCONTACT_PY,
        "javascript": FULLCONTACT_JS,
        "configuration": ("FULLCONTACT_KEY", "FULLCONTACT_URL"),
        "fail_open": True,
    },
    {
        "id": "add-income",
        "name": "Median household income by zip code",
        "category": "enrich profile",
        "description": "Median household income (Census ACS B19013) for user_metadata.zip_code or "
        "the geoip postal code, into user_metadata.median_household_income.",
        "python": INCOME_PY,
        "javascript": INCOME_JS,
        "configuration": ("CENSUS_URL", "CENSUS_KEY"),
        "fail_open": True,
    },
    {
        "id": "tweet-sentiment",
        "name": "Tweet sentiment",
        "category": "enrich profile",
        "description": "Sends the user's Twitter handle to a sentiment API once and stores the "
        "result in app_metadata.sentiment.",
        "python": SENTIMENT_PY,
        "javascript": SENTIMENT_JS,
        "configuration": ("SENTIMENT_URL", "SENTIMENT_TOKEN"),
        "fail_open": True,
    },
    {
        "id": "creates-lead-salesforce",
        "name": "Salesforce lead on first login",
        "category": "webhook",
        "description": "Creates a Lead in Salesforce at the first login and remembers its id in "
        "app_metadata.salesforce_lead_id.",
        "python": SALESFORCE_PY,
        "javascript": SALESFORCE_JS,
        "configuration": (
            "SALESFORCE_LOGIN_URL",
            "SALESFORCE_CLIENT_ID",
            "SALESFORCE_CLIENT_SECRET",
            "SALESFORCE_USERNAME",
            "SALESFORCE_PASSWORD",
            "SALESFORCE_COMPANY",
        ),
        "fail_open": True,
    },
    {
        "id": "login-webhook",
        "name": "Send the login to a webhook",
        "category": "webhook",
        "description": "POSTs each login (user, application, connection, IP, count) as JSON to "
        "WEBHOOK_URL.",
        "python": WEBHOOK_PY,
        "javascript": WEBHOOK_JS,
        "configuration": ("WEBHOOK_URL", "WEBHOOK_TOKEN"),
        "fail_open": True,
    },
)
