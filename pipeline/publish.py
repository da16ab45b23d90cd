"""Publishing to the Hugging Face Hub: `ahnpl-gen build ... --out hf://datasets/ORG/NAME`.

The Hub takes files in commits, not renames, so a build never writes to it shard by shard:
it runs in a local staging folder (resumable like any build; `--stage`, default
`~/.cache/ahnpl/stage/ORG--NAME`), and the finished dataset (card, manifest, rejects, `data/`)
goes up in one `HfApi.upload_folder` commit. Build-only files (`_progress/`, temporary and
lock files) stay local.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

HUB_PREFIX = "hf://datasets/"
# What only the build needs: markers, temporary names, locks, hidden files.
LOCAL_ONLY = ["_progress/*", "*.tmp", "*.tmp.*", "*.lock", ".*", "**/.*"]


@dataclass(frozen=True)
class HubTarget:
    repo_id: str  # ORG/NAME
    revision: str | None  # a branch, from hf://datasets/ORG/NAME@BRANCH
    stage: str  # the local folder the build writes

    @property
    def url(self) -> str:
        return HUB_PREFIX + self.repo_id + (f"@{self.revision}" if self.revision else "")


def hub_target(out: str | None, stage: str | None = None) -> HubTarget | None:
    """The Hub dataset named by `out`, or None when `out` is not an `hf://datasets/` URL.

    Raises:
        ValueError: an `hf://datasets/` URL that is not `hf://datasets/ORG/NAME[@BRANCH]`.
    """
    if not out or not out.startswith(HUB_PREFIX):
        return None
    repo_id, _, revision = out[len(HUB_PREFIX) :].strip("/").partition("@")
    if repo_id.count("/") != 1 or not all(repo_id.split("/")):
        raise ValueError(f"--out {out}: expected hf://datasets/ORG/NAME (or ...@BRANCH)")
    if stage is None:
        cache = os.environ.get("AHNPL_CACHE", os.path.expanduser("~/.cache/ahnpl"))
        stage = os.path.join(cache, "stage", repo_id.replace("/", "--"))
    return HubTarget(repo_id, revision or None, stage)


def publish(target: HubTarget, message: str, api=None) -> str:
    """Upload the finished dataset in `target.stage` to the Hub in one commit; return its URL.

    `api` is a `huggingface_hub.HfApi` (its token comes from `HF_TOKEN` or `hf auth login`).

    Raises:
        OSError: the Hub refused (`HfHubHTTPError`: no token, no write access) or could not
            be reached (`ConnectionError`); the staged dataset is untouched, so the same
            command retries the upload without rebuilding.
    """
    from huggingface_hub.errors import HfHubHTTPError

    if api is None:
        from huggingface_hub import HfApi

        api = HfApi()
    # The hub client's transport errors come from its HTTP library and are not OSErrors.
    transport = HfHubHTTPError.__mro__[1]
    try:
        api.create_repo(target.repo_id, repo_type="dataset", exist_ok=True)
        if target.revision:
            api.create_branch(
                target.repo_id, branch=target.revision, repo_type="dataset", exist_ok=True
            )
        api.upload_folder(
            folder_path=target.stage,
            repo_id=target.repo_id,
            repo_type="dataset",
            revision=target.revision,
            ignore_patterns=LOCAL_ONLY,
            commit_message=message,
        )
    except OSError:
        raise
    except transport as e:
        raise ConnectionError(f"{target.url}: the Hub is unreachable ({e})") from e
    return target.url
