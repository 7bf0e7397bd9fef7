"""Bluesky: AppView XRPC responses (getProfile(s), getAuthorFeed, getLikes, getPosts) and Jetstream
JSONL commits → contract events.

Profiles are keyed by DID (handles change), posts by their at:// URI, so a post seen through the
AppView and through Jetstream is one post. AppView responses carry no retrieval time; their
counters need --observed-at. Jetstream commits carry their own times.
"""

from __future__ import annotations

from .core import (
    BadRecord,
    Outcome,
    count,
    follow_event,
    from_epoch_us,
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

PLATFORM = "bluesky"
POST, LIKE, REPOST, FOLLOW = (
    "app.bsky.feed.post",
    "app.bsky.feed.like",
    "app.bsky.feed.repost",
    "app.bsky.graph.follow",
)


def _obj(value) -> dict:
    return value if isinstance(value, dict) else {}


def _type(value) -> str:
    t = _obj(value).get("$type")
    return t if isinstance(t, str) else ""


def did_of(uri) -> str | None:
    """The repo DID of an at:// URI: at://did:plc:abc/app.bsky.feed.post/3k… → did:plc:abc."""
    if isinstance(uri, str) and uri.startswith("at://"):
        did = uri[5:].split("/", 1)[0]
        return did if did.startswith("did:") else None
    return None


def _post_fields(record: dict) -> dict:
    langs = record.get("langs")
    tags, mentions = [], []
    for facet in list_of(record.get("facets")):
        for feat in list_of(_obj(facet).get("features")):
            feat = _obj(feat)
            if _type(feat) == "app.bsky.richtext.facet#tag" and ident(feat.get("tag")):
                tags.append(ident(feat["tag"]))
            elif _type(feat) == "app.bsky.richtext.facet#mention" and ident(feat.get("did")):
                mentions.append(ident(feat["did"]))
    embed = _obj(record.get("embed"))
    etype = _type(embed)
    media = _type(embed.get("media")) if "recordWithMedia" in etype else etype
    media_type = (
        "image" if "images" in media else "video" if "video" in media else "other" if media else "text"
    )
    return {
        "language": langs[0] if isinstance(langs, list) and langs and isinstance(langs[0], str) else None,
        "hashtags": list(dict.fromkeys(tags))[:1000] or hashtags_in(record.get("text")),
        "mentions": list(dict.fromkeys(mentions))[:1000],
        "media_type": media_type,
    }


def _quoted_uri(record: dict) -> str | None:
    embed = _obj(record.get("embed"))
    if _type(embed) == "app.bsky.embed.record":
        return ident(_obj(embed.get("record")).get("uri"))
    if _type(embed) == "app.bsky.embed.recordWithMedia":
        return ident(_obj(_obj(embed.get("record")).get("record")).get("uri"))
    return None


def record_time(record: dict, fallback: str | None, missing: str) -> str:
    """A record's `createdAt` in UTC, else `fallback` (the AppView's or Jetstream's own time) when
    createdAt is absent or does not parse: createdAt is the client's word (some write year 1), the
    service's time is not. BadRecord when neither gives a time (`missing`: what the reject says)."""
    created = record.get("createdAt")
    if created:
        try:
            return utc_time(created)
        except BadRecord:
            if not fallback:
                raise
    if not fallback:
        raise BadRecord("missing_field", missing)
    return utc_time(fallback)


def post_record_events(uri: str, author: str, record: dict, fallback_time: str | None) -> list[dict]:
    """A post record → its post, plus a comment on the parent if a reply, a share if a quote."""
    time = record_time(record, fallback_time, f"{uri}: no createdAt")
    events = [post_event(PLATFORM, uri, author, time, **_post_fields(record))]
    parent = ident(_obj(_obj(record.get("reply")).get("parent")).get("uri"))
    if parent and did_of(parent):
        events.append(interaction_event(PLATFORM, "comment", (uri,), time, did_of(parent), parent, author))
    quoted = _quoted_uri(record)
    if quoted and did_of(quoted) and "/app.bsky.feed.post/" in quoted:  # not a quoted list or feed
        events.append(interaction_event(PLATFORM, "share", (uri,), time, did_of(quoted), quoted, author))
    return events


def map_post_view(view: dict, observed_at: str | None) -> list[dict]:
    uri, author = ident(view.get("uri")), ident(_obj(view.get("author")).get("did"))
    record = _obj(view.get("record"))
    if uri is None or author is None or not record:
        raise BadRecord("missing_field", f"post view {uri}: uri, author.did and record are needed")
    events = post_record_events(uri, author, record, view.get("indexedAt"))
    counters = dict(
        likes=count(view.get("likeCount")),
        comments=count(view.get("replyCount")),
        shares=sum_counts(count(view.get("repostCount")), count(view.get("quoteCount"))),
        saves=count(view.get("bookmarkCount")),
    )
    if any(v is not None for v in counters.values()):
        events.append(
            metrics_event(PLATFORM, uri, author, need_time(observed_at, f"Bluesky post {uri}"), **counters)
        )
    return events


def _handle(value) -> str | None:
    handle = ident(value)
    return None if handle == "handle.invalid" else handle


def map_profile(view: dict, observed_at: str | None) -> Outcome:
    out = Outcome()
    did = ident(view.get("did"))
    if did is None:
        out.reject("missing_field", "profile without did")
    elif count(view.get("followersCount")) is None:
        out.skip("no_follower_count", did)  # profileViewBasic (embedded authors) carries no counts
    else:
        out.add(
            [
                snapshot_event(
                    PLATFORM,
                    did,
                    need_time(observed_at, f"Bluesky profile {did}"),
                    count(view["followersCount"]),
                    following=count(view.get("followsCount")),
                    media_count=count(view.get("postsCount")),
                    handle=_handle(view.get("handle")),
                    display_name=ident(view.get("displayName")),
                )
            ]
        )
    return out


def map_feed_item(item: dict, observed_at: str | None) -> Outcome:
    out = Outcome()
    post, reason = _obj(item.get("post")), _obj(item.get("reason"))
    if _type(reason) == "app.bsky.feed.defs#reasonRepost":
        # The feed owner reposted someone's post: a share by the owner, not a post of theirs.
        by, uri = ident(_obj(reason.get("by")).get("did")), ident(post.get("uri"))
        author = ident(_obj(post.get("author")).get("did")) or did_of(uri)
        if by is None or uri is None or author is None or not reason.get("indexedAt"):
            out.reject("missing_field", "repost without by.did, post.uri or indexedAt")
        else:
            out.add(
                [
                    interaction_event(
                        PLATFORM, "share", (by, uri), utc_time(reason["indexedAt"]), author, uri, by
                    )
                ]
            )
        return out
    if _type(post).endswith(("#notFoundPost", "#blockedPost")) or post.get("notFound") or post.get("blocked"):
        out.skip("deleted_or_blocked_post", str(post.get("uri")))
        return out
    out.add(map_post_view(post, observed_at))
    return out


def map_like(like: dict, subject: str) -> Outcome:
    out = Outcome()
    actor = ident(_obj(like.get("actor")).get("did"))
    time = like.get("createdAt") or like.get("indexedAt")
    if actor is None or not time:
        out.reject("missing_field", "like without actor.did or createdAt")
    else:
        out.add(
            [
                interaction_event(
                    PLATFORM, "like", (actor, subject), utc_time(time), did_of(subject), subject, actor
                )
            ]
        )
    return out


_OLD_KINDS = {"com": "commit", "id": "identity", "acc": "account"}
_OLD_OPS = {"c": "create", "u": "update", "d": "delete"}


def _is_old_jetstream(line: dict) -> bool:
    return "time_us" in line and "kind" not in line and line.get("type") in _OLD_KINDS


def _from_old_jetstream(line: dict) -> dict:
    """A Jetstream line of the first releases (`"type": "com"`, commit `"type": "c"`) in today's names."""
    new = {k: v for k, v in line.items() if k != "type"}
    new["kind"] = _OLD_KINDS[line["type"]]
    commit = line.get("commit")
    if isinstance(commit, dict) and "operation" not in commit:
        new["commit"] = {**commit, "operation": _OLD_OPS.get(commit.get("type"), commit.get("type"))}
    return new


def map_jetstream(line: dict) -> Outcome:
    out = Outcome()
    if _is_old_jetstream(line):
        line = _from_old_jetstream(line)
    kind, did, commit = line.get("kind"), ident(line.get("did")), _obj(line.get("commit"))
    if kind != "commit":
        out.skip(f"jetstream_{kind}" if isinstance(kind, str) else "jetstream_unknown_kind")
        return out
    op, coll, rkey = commit.get("operation"), commit.get("collection"), ident(commit.get("rkey"))
    if did is None or rkey is None or not isinstance(coll, str):
        out.reject("missing_field", "commit without did, collection or rkey")
        return out
    if op == "delete":
        out.skip("deleted", f"{coll} at://{did}/{coll}/{rkey}")  # counted; a deletion is not an event
        return out
    if coll not in (POST, LIKE, REPOST, FOLLOW):
        out.skip("unsupported_collection", coll)
        return out
    if op != "create":
        out.skip(f"{op}_not_imported", coll)  # an edit changes no engagement
        return out
    record = _obj(commit.get("record"))
    fallback = from_epoch_us(line["time_us"]) if "time_us" in line else None
    return map_record(did, coll, rkey, record, fallback)


def map_record(did: str, coll: str, rkey: str, record: dict, fallback: str | None) -> Outcome:
    """One repo record (a Jetstream create, a getRecord/listRecords value) → its event."""
    out = Outcome()
    if _type(record) and _type(record) != coll:
        # A record whose $type is not its collection's fails the lexicon; the AppView ignores it too.
        out.skip("record_type_mismatch", f"{_type(record)} in {coll}"[:200])
        return out
    time = record_time(record, fallback, "no createdAt or time_us")
    uri = f"at://{did}/{coll}/{rkey}"
    if coll == POST:
        out.add(post_record_events(uri, did, record, time))
        return out
    subject = record.get("subject")
    if coll == FOLLOW:
        if not (isinstance(subject, str) and subject.startswith("did:")):
            out.reject("missing_field", "follow without subject DID")
        else:
            out.add([follow_event(PLATFORM, subject, did, time)])
        return out
    target = ident(_obj(subject).get("uri"))
    if did_of(target) is None:
        out.reject("missing_field", f"{coll} without subject.uri")
    elif "/app.bsky.feed.post/" not in target:
        out.skip("subject_not_a_post", target)  # likes of feed generators, lists
    else:
        kind = "like" if coll == LIKE else "share"
        out.add([interaction_event(PLATFORM, kind, (did, target), time, did_of(target), target, did)])
    return out


def map_repo_record(item: dict, observed_at: str | None = None) -> Outcome:
    """com.atproto.repo.getRecord / listRecords: {uri, cid, value}; the record's own createdAt is its time."""
    uri = ident(item.get("uri"))
    parts = uri[5:].split("/") if uri and uri.startswith("at://") else []
    if len(parts) != 3 or not parts[0].startswith("did:"):
        return rejected("missing_field", f"record without an at://did/collection/rkey uri: {uri}"[:200])
    did, coll, rkey = parts
    if coll not in (POST, LIKE, REPOST, FOLLOW):
        return skipped("unsupported_collection", coll)
    return map_record(did, coll, rkey, _obj(item.get("value")), None)


def map_thread_items(items: list, observed_at: str | None) -> Outcome:
    """app.bsky.unspecced.getPostThreadV2 (and getPostThreadOtherV2): `thread` is a flat list of
    {uri, depth, value}; a value is a threadItemPost (a post view with counters) or says why the
    post is not shown (not found, blocked, hidden from logged-out readers)."""
    out = Outcome()
    for item in items:
        value = _obj(_obj(item).get("value"))
        kind = _type(value).rsplit("#", 1)[-1]
        if not isinstance(item, dict):
            out.reject("invalid_type", "thread item is not an object")
        elif isinstance(value.get("post"), dict):
            out.merge(guarded(_posts, value["post"], observed_at))
        elif kind in ("threadItemNotFound", "threadItemBlocked"):
            out.skip("deleted_or_blocked_post", str(item.get("uri")))
        elif kind == "threadItemNoUnauthenticated":
            out.skip("hidden_from_logged_out_readers", str(item.get("uri")))
        else:
            out.skip("unsupported_thread_item", f"{kind or 'no $type'}: {item.get('uri')}"[:200])
    return out


def map_thread(page: dict, observed_at: str | None) -> Outcome:
    """getPostThread: the post, its parents and its replies, each a post view with counters."""
    if isinstance(page.get("thread"), list):
        return map_thread_items(page["thread"], observed_at)
    if not isinstance(page.get("thread"), dict):
        return rejected("invalid_type", "thread is neither a thread view nor a list of thread items")
    out, stack = Outcome(), [page.get("thread")]
    while stack:
        node = _obj(stack.pop())
        if (
            _type(node).endswith(("#notFoundPost", "#blockedPost"))
            or node.get("notFound")
            or node.get("blocked")
        ):
            out.skip("deleted_or_blocked_post", str(node.get("uri")))
            continue
        if not node:
            continue
        out.merge(guarded(_posts, _obj(node.get("post")), observed_at))
        stack.extend(n for n in [node.get("parent"), *list_of(node.get("replies"))] if n is not None)
    return out


def _each(items, fn, *args) -> Outcome:
    out = Outcome()
    if not isinstance(items, list):
        out.reject("invalid_type", "expected a list")
        return out
    for item in items:
        out.merge(
            guarded(fn, item, *args)
            if isinstance(item, dict)
            else rejected("invalid_type", "item is not an object")
        )
    return out


def _posts(view: dict, observed_at) -> Outcome:
    out = Outcome()
    out.add(map_post_view(view, observed_at))
    return out


def _map_likes(page: dict, observed_at: str | None) -> Outcome:
    subject = ident(page.get("uri"))
    if did_of(subject) is None:
        return rejected("missing_field", "getLikes response without the liked post's uri")
    return _each(page["likes"], map_like, subject)


def _map_follower_list(page: dict, observed_at: str | None) -> Outcome:
    # getFollowers/getFollows say who follows, never since when: no follow event can be dated.
    out = Outcome()
    people = page["followers"] if isinstance(page.get("followers"), list) else list_of(page.get("follows"))
    for _ in people:
        out.skip("follower_list_without_times")
    return out


def _map_error(page: dict, observed_at: str | None) -> Outcome:
    return skipped(f"api_error:{page['error']}", str(page.get("message", ""))[:200])


_SHAPES = (
    (lambda p: "time_us" in p and ("kind" in p or _is_old_jetstream(p)), lambda p, t: map_jetstream(p)),
    (lambda p: "feed" in p, lambda p, t: _each(p["feed"], map_feed_item, t)),
    (lambda p: "likes" in p, _map_likes),
    (lambda p: "profiles" in p, lambda p, t: _each(p["profiles"], map_profile, t)),
    (lambda p: "posts" in p, lambda p, t: _each(p["posts"], _posts, t)),
    (lambda p: "thread" in p, map_thread),
    (lambda p: "records" in p, lambda p, t: _each(p["records"], map_repo_record)),
    (lambda p: isinstance(p.get("uri"), str) and isinstance(p.get("value"), dict), map_repo_record),
    (
        lambda p: isinstance(p.get("followers"), list) or isinstance(p.get("follows"), list),
        _map_follower_list,
    ),
    (lambda p: "did" in p and "handle" in p, map_profile),
    # A response's `feed` or `posts` list saved on its own (a JSON array): one item per record.
    (lambda p: isinstance(p.get("post"), dict), map_feed_item),
    (lambda p: isinstance(p.get("author"), dict) and isinstance(p.get("record"), dict), _posts),
    (lambda p: isinstance(p.get("error"), str), _map_error),
)


def map_page(page, observed_at: str | None = None) -> Outcome:
    """One AppView or repo response, or one Jetstream line, recognised by its shape."""
    return map_by_shape(
        page,
        observed_at,
        _SHAPES,
        "not a getProfile(s), getAuthorFeed, getLikes, getPosts, getPostThread, getRecord, "
        "listRecords or Jetstream record",
    )
