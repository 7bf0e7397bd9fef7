"""X API v2 pages (search, lookup, timelines, users lookup, filtered stream) → contract events.

One page in, one Outcome out. Records of a page: each tweet or user in `data`, each user in
`includes.users`, each object in `errors`. `includes.tweets` are expansions, looked up by id to
find a referenced tweet's author (twarc's `ensure_flattened` idea), not records of their own.
"""

from __future__ import annotations

from .core import (
    BadRecord,
    Outcome,
    count,
    guarded,
    hashtags_in,
    ident,
    interaction_event,
    list_of,
    map_by_shape,
    metrics_event,
    need_time,
    post_event,
    rejected,
    skipped,
    snapshot_event,
    sum_counts,
    utc_time,
)

PLATFORM = "x"


def page_observed_at(page: dict, observed_at: str | None) -> str | None:
    """The page's own retrieval time (`__twarc.retrieved_at`) wins over the user's --observed-at."""
    meta = page.get("__twarc")
    if isinstance(meta, dict) and meta.get("retrieved_at"):
        return utc_time(meta["retrieved_at"])
    return observed_at


_LEGACY_LANG = {"in": "id", "iw": "he", "ji": "yi"}  # X still sends the withdrawn ISO 639 codes


def _language(lang) -> str | None:
    # "und" (undetermined) and X's private q* codes (qme: media only, qht: hashtags only) say nothing.
    if isinstance(lang, str) and lang and lang != "und" and not lang.startswith("q") and lang != "zxx":
        return _LEGACY_LANG.get(lang, lang)
    return None


def _is_user(item: dict) -> bool:
    return "username" in item and "text" not in item


# Fields only a tweet has; a tweet requested without any tweet.fields still has `text` (and, since
# 2022, `edit_history_tweet_ids`).
_TWEET_KEYS = ("text", "edit_history_tweet_ids", "author_id", "referenced_tweets", "note_tweet")


def _is_tweet(item: dict) -> bool:
    # DM events have `text` too; lists, Spaces and compliance jobs share `data` pages with tweets.
    return "event_type" not in item and (
        any(k in item for k in _TWEET_KEYS) or set(item) <= {"id", "withheld"}
    )


def _mentions(tweet: dict, handles: dict[str, str] | None = None) -> list[str]:
    """Mentioned users by id; a page without the mentions expansion names them by username only,
    resolved through the page's users so that every copy of a tweet names them alike (twarc2
    flatten inlines the same ids)."""
    ents = tweet.get("entities") if isinstance(tweet.get("entities"), dict) else {}
    out = []
    for m in list_of(ents.get("mentions")):
        if not isinstance(m, dict):
            continue
        name = ident(m.get("username"))
        found = ident(m.get("id")) or (handles or {}).get(name.lower() if name else "") or name
        if found:
            out.append(found)
    return out[:1000]


def _hashtags(tweet: dict) -> list[str]:
    # A long post's full text and entities are in note_tweet; `text` holds only the first 280 chars.
    note = tweet.get("note_tweet") if isinstance(tweet.get("note_tweet"), dict) else {}
    ents = (
        note.get("entities")
        if isinstance(note.get("entities"), dict)
        else tweet.get("entities")
        if isinstance(tweet.get("entities"), dict)
        else {}
    )
    tags = [h.get("tag") for h in list_of(ents.get("hashtags")) if isinstance(h, dict)]
    tags = [t for t in tags if isinstance(t, str) and t]
    return tags[:1000] if tags else hashtags_in(tweet.get("text"))


def _media_type(tweet: dict, media_by_key: dict) -> str | None:
    keys = (
        (tweet.get("attachments") or {}).get("media_keys")
        if isinstance(tweet.get("attachments"), dict)
        else None
    )
    if not keys:
        return "text"
    kinds = {media_by_key.get(k) for k in keys if isinstance(k, str)}
    if kinds & {"video", "animated_gif"}:
        return "video"
    if "photo" in kinds:
        return "image"
    # Media not expanded in this page: unknown, so absent (another page's copy may know it).
    return "other" if kinds - {None} else None


def _references(tweet: dict) -> dict[str, str]:
    refs = {}
    for ref in list_of(tweet.get("referenced_tweets")):
        if isinstance(ref, dict) and isinstance(ref.get("type"), str) and ident(ref.get("id")):
            refs.setdefault(ref["type"], ident(ref["id"]))
    return refs


def _history(tweet: dict | None) -> list[str]:
    return [i for i in map(ident, list_of((tweet or {}).get("edit_history_tweet_ids"))) if i]


def _chain_id(tid: str, tweets: dict) -> str:
    """An edited tweet's versions are one post, named by its first version's id (the first of
    `edit_history_tweet_ids`): the id a page read before the edit knows it by."""
    history = _history(tweets.get(tid))
    return history[0] if history else tid


def _target_author(ref_id: str, tweets: dict, fallback) -> str | None:
    ref = tweets.get(ref_id)
    return ident(ref.get("author_id")) if ref else ident(fallback)


def _retweeted_author(tweet: dict, handles: dict[str, str]) -> str | None:
    """The retweeted author from the retweet's own text, `RT @name: …`: the first mention's id, or
    its username looked up among the page's users (a page without the mentions expansion has
    usernames only)."""
    ents = tweet.get("entities") if isinstance(tweet.get("entities"), dict) else {}
    first = next((m for m in list_of(ents.get("mentions")) if isinstance(m, dict)), {})
    if ident(first.get("id")) and ident(first["id"]).isdigit():
        return ident(first["id"])
    name = ident(first.get("username"))
    text = tweet.get("text") if isinstance(tweet.get("text"), str) else ""
    if name and text.lower().startswith(f"rt @{name.lower()}:"):
        return handles.get(name.lower())
    return None


def map_tweet(
    tweet: dict, tweets: dict, media: dict, observed_at: str | None, handles: dict[str, str] | None = None
) -> Outcome:
    out = Outcome()
    tid = ident(tweet.get("id"))
    if tid is None:
        out.reject("missing_field", "tweet without id")
        return out
    author = ident(tweet.get("author_id"))
    if author is None or not tweet.get("created_at"):
        if tweet.get("withheld") and "text" not in tweet:
            out.skip("withheld", tid)  # withheld where it was requested, and sent without its content
            return out
        out.reject(
            "missing_field", f"tweet {tid}: author_id and created_at are needed (request tweet.fields)"
        )
        return out
    history = _history(tweet)
    post_id = history[0] if history else tid
    first = tweets.get(post_id) if post_id != tid else None
    # The post's time is its first version's, when the page holds it (an edit's created_at is the edit's).
    created = utc_time(first["created_at"] if first and first.get("created_at") else tweet["created_at"])
    refs = _references(tweet)
    events = []
    if "retweeted" in refs:
        # A retweet is the retweeter sharing the original; its public_metrics are the original's.
        orig = refs["retweeted"]
        target = _target_author(orig, tweets, _retweeted_author(tweet, handles or {}))
        if target is None:
            out.skip("retweet_target_unknown", f"retweet {tid} of {orig}: original author not in includes")
            return out
        events.append(
            interaction_event(PLATFORM, "share", (tid,), created, target, _chain_id(orig, tweets), author)
        )
        out.add(events)
        return out
    events.append(
        post_event(
            PLATFORM,
            post_id,
            author,
            created,
            language=_language(tweet.get("lang")),
            hashtags=_hashtags(tweet),
            mentions=_mentions(tweet, handles),
            media_type=_media_type(tweet, media),
        )
    )
    if "replied_to" in refs:
        parent = refs["replied_to"]
        target = _target_author(parent, tweets, tweet.get("in_reply_to_user_id"))
        if target is not None:
            parent = _chain_id(parent, tweets)
            events.append(interaction_event(PLATFORM, "comment", (post_id,), created, target, parent, author))
    if "quoted" in refs:
        quoted = refs["quoted"]
        target = _target_author(quoted, tweets, None)
        if target is not None:
            quoted = _chain_id(quoted, tweets)
            events.append(interaction_event(PLATFORM, "share", (post_id,), created, target, quoted, author))
    pm = tweet.get("public_metrics")
    # A superseded version's counters stopped when it was edited; the latest version's go on.
    if isinstance(pm, dict) and (not history or history[-1] == tid):
        metrics = metrics_event(
            PLATFORM,
            post_id,
            author,
            need_time(observed_at, f"X page with tweet {tid}"),
            likes=count(pm.get("like_count")),
            comments=count(pm.get("reply_count")),
            shares=sum_counts(count(pm.get("retweet_count")), count(pm.get("quote_count"))),
            saves=count(pm.get("bookmark_count")),
            views=_views(pm.get("impression_count"), created),
        )
        if metrics:
            events.append(metrics)
    out.add(events)
    return out


# X began counting views (`impression_count`) in December 2022 and reports 0 for older tweets: no
# count, not a measured zero. (utc_time's canonical spelling sorts as the instants do.)
VIEWS_COUNTED_FROM = "2022-12-01T00:00:00Z"


def _views(impressions, created: str) -> int | None:
    views = count(impressions)
    return None if views == 0 and created < VIEWS_COUNTED_FROM else views


def map_user(user: dict, observed_at: str | None) -> Outcome:
    out = Outcome()
    uid = ident(user.get("id"))
    if uid is None:
        out.reject("missing_field", "user without id")
        return out
    pm = user.get("public_metrics")
    followers = count(pm.get("followers_count")) if isinstance(pm, dict) else None
    if followers is None:
        # A withheld user still has public_metrics when they were requested: no special case.
        out.skip("no_follower_count", f"user {uid}: request user.fields=public_metrics")
        return out
    out.add(
        [
            snapshot_event(
                PLATFORM,
                uid,
                need_time(observed_at, f"X page with user {uid}"),
                followers,
                following=count(pm.get("following_count")),
                media_count=count(pm.get("tweet_count")),
                handle=ident(user.get("username")),
                display_name=ident(user.get("name")),
            )
        ]
    )
    return out


def _error_reason(err) -> str:
    if not isinstance(err, dict):
        return "api_error"
    kind = err.get("type") if isinstance(err.get("type"), str) else ""
    tail = kind.rstrip("/").rsplit("/", 1)[-1] if kind else ""
    detail = err.get("detail") if isinstance(err.get("detail"), str) else ""
    # A suspended user comes as resource-not-found titled "Forbidden": "User has been suspended: [x]."
    if tail == "not-authorized-for-resource" or detail.startswith("User has been suspended"):
        return "protected_or_suspended"
    if tail == "resource-not-found":
        return "deleted_or_not_found"
    return f"api_error:{tail}" if tail else "api_error"


def _flatten(page: dict) -> dict:
    """twarc2 flatten output (one tweet per line, its expansions inlined) as a v2 page."""
    return {
        "data": [page],
        "includes": {
            "users": [page["author"]] if isinstance(page.get("author"), dict) else [],
            "tweets": [
                r for r in list_of(page.get("referenced_tweets")) if isinstance(r, dict) and "author_id" in r
            ],
        },
        "__twarc": page.get("__twarc"),
    }


def _is_flat(page: dict) -> bool:
    return "data" not in page and "id" in page and ("text" in page or "username" in page)


def _is_problem(page: dict) -> bool:
    # A failed request's body (RFC 7807 problem): 401/403 "Client Forbidden", 429 "Too Many Requests".
    return (
        "data" not in page
        and "errors" not in page
        and isinstance(page.get("title"), str)
        and isinstance(page.get("type"), str)
    )


def _map_problem(page: dict, observed_at: str | None) -> Outcome:
    reason = _error_reason(page)
    if page["type"] == "about:blank" and page.get("status") is not None:
        reason = f"api_error:{page['status']}"
    return skipped(reason, str(page.get("detail") or page.get("title"))[:200])


def _is_compliance(page: dict) -> bool:
    # A batch compliance job's result line: {"id", "action": "delete", "created_at", "reason"}.
    return "data" not in page and "id" in page and isinstance(page.get("action"), str)


def _map_compliance(page: dict, observed_at: str | None) -> Outcome:
    # It says a tweet or user must be removed; the contract has no deletion event, so it is counted.
    return skipped(f"compliance_{page['action']}", f"{ident(page.get('id'))}: {page.get('reason')}"[:200])


def _map_item(item, tweets: dict, media: dict, handles: dict, observed_at: str | None) -> Outcome:
    if not isinstance(item, dict):
        return rejected("invalid_type", "data item is not an object")
    if "tweet_count" in item and "start" in item:
        return skipped("tweet_counts_not_imported", str(item.get("start")))  # /2/tweets/counts buckets
    if _is_user(item):
        return guarded(map_user, item, observed_at)
    if _is_tweet(item):
        return guarded(map_tweet, item, tweets, media, observed_at, handles)
    # A list, Space, DM event or compliance job answered by the same API: nothing to import.
    kind = "dm_event" if "event_type" in item else "object"
    return skipped(f"unsupported_{kind}", f"{ident(item.get('id'))}: {', '.join(sorted(item))}"[:200])


def _map_v2_page(page: dict, observed_at: str | None) -> Outcome:
    try:
        observed_at = page_observed_at(page, observed_at)
    except BadRecord as exc:
        return rejected(exc.reason, "__twarc.retrieved_at")
    data = page.get("data")
    data = [data] if isinstance(data, dict) else data if isinstance(data, list) else []
    includes = page.get("includes") if isinstance(page.get("includes"), dict) else {}
    inc_tweets = [t for t in list_of(includes.get("tweets")) if isinstance(t, dict)]
    inc_users = [u for u in list_of(includes.get("users")) if isinstance(u, dict)]
    tweets = {
        ident(t.get("id")): t
        for t in inc_tweets + [d for d in data if isinstance(d, dict)]
        if ident(t.get("id"))
    }
    handles = {
        u["username"].lower(): ident(u.get("id"))
        for u in inc_users + [d for d in data if isinstance(d, dict) and _is_user(d)]
        if isinstance(u.get("username"), str) and ident(u.get("id"))
    }
    media = {m.get("media_key"): m.get("type") for m in list_of(includes.get("media")) if isinstance(m, dict)}
    out = Outcome()
    for item in data:
        out.merge(_map_item(item, tweets, media, handles, observed_at))
    for user in list_of(includes.get("users")):
        out.merge(
            guarded(map_user, user, observed_at) if isinstance(user, dict) else rejected("invalid_type")
        )
    for err in list_of(page.get("errors")):
        detail = err.get("detail") or err.get("message") or "" if isinstance(err, dict) else ""
        out.skip(_error_reason(err), str(detail)[:200])
    if not out.records and not _known_empty(page):
        out.reject("unrecognized_page", "no data, includes or errors")
    return out


def _is_v1(page: dict) -> bool:
    # X API v1.1 tweets and users (twarc 1, tweepy API, Twitter archive exports) carry `id_str`.
    return "data" not in page and "id_str" in page


_SHAPES = (
    (_is_v1, lambda page, observed_at: rejected("x_api_v1_object", "x-api reads X API v2 pages")),
    (_is_flat, lambda page, observed_at: _map_v2_page(_flatten(page), observed_at)),
    (_is_compliance, _map_compliance),
    (_is_problem, _map_problem),
    (lambda page: True, _map_v2_page),  # a v2 page; one with nothing to account is rejected there
)


def map_page(page: dict, observed_at: str | None = None) -> Outcome:
    return map_by_shape(page, observed_at, _SHAPES, "an X API v2 page")


def _known_empty(page: dict) -> bool:
    # An empty search page ({"meta": {"result_count": 0}}) is a normal answer, nothing to account.
    return "meta" in page or "data" in page
