"""IPython magics: ``%cognito_login``, ``%cognito_logout`` and ``%cognito_session``.

Load them with ``%load_ext nb_cognito``, or for every session in ``ipython_config.py``::

    c.InteractiveShellApp.extensions = ["nb_cognito"]
    c.CognitoMagics.default_username = "alice"     # optional; see CognitoMagics

A password is never an argument: the text of a magic's line is kept in ``In``, ``_ih``,
IPython's history database and the saved notebook. ``%cognito_login`` asks for it with
hidden input (``getpass``), reads ``NB_COGNITO_PASSWORD``, or shows the sign-in widget.
A line holding a password anyway is refused and taken out of the history
(:mod:`nb_cognito.notebook.magic_line`); ``%cognito_session`` returns a
:class:`~nb_cognito.notebook.report.SessionReport`. The pieces of the sign-in flow (the
prompts, the challenges, ``--local``, the remembered resume) are in
:mod:`nb_cognito.notebook.login_flow`; here are the magics that put them in order.

The magics drive the kernel-wide session (:func:`nb_cognito.kernel.kernel_session`), which
``%reload_ext nb_cognito`` does not replace: the user stays signed in across a reload.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from IPython.core import magic_arguments
from IPython.core.magic import Magics, line_magic, magics_class, no_var_expand
from traitlets import Bool, Int, Unicode

from nb_cognito.environment import EnvironmentVariables as Env
from nb_cognito.exceptions import AuthError
from nb_cognito.integrations.boto3_injection import is_installed
from nb_cognito.notebook import login_flow
from nb_cognito.notebook.magic_line import (
    NOT_A_USERNAME,
    MagicUsageError,
    in_jupyter,
    looks_like_credentials,
    parse_magic_line,
)
from nb_cognito.notebook.report import SessionReport, no_credentials_reason
from nb_cognito.notebook.session_lines import (
    boto3_of,
    describe_device,
    forget_all_line,
    forget_device_line,
    hub_sign_in_line,
    kernel_session,
    remembered_of,
    signed_in_as,
    summary_line,
    usage_error,
)
from nb_cognito.secret import Secret
from nb_cognito.settings.table import MAGIC_SETTINGS

if TYPE_CHECKING:  # pragma: no cover
    from nb_cognito.auth.session import CognitoSession

__all__ = ["MAGICS_NAME", "CognitoMagics", "SessionReport"]

log = logging.getLogger("nb_cognito")

MAGICS_NAME = "CognitoMagics"

# -- the magics ------------------------------------------------------------------------------------


def _setting_options(magic: Callable[..., Any]) -> Callable[..., Any]:
    """Add the settings that ``%cognito_login`` takes (the table's ``magic`` column) as options:
    ``--user-pool-id ID`` and so on, and ``--remember`` as a flag."""
    for setting in reversed(MAGIC_SETTINGS):  # magic_arguments adds the last decorator first
        option = setting.magic
        assert option is not None
        if option.metavar is None:
            add = magic_arguments.argument(setting.magic_flag, action="store_true", help=option.help)
        else:
            add = magic_arguments.argument(setting.magic_flag, metavar=option.metavar, help=option.help)
        magic = add(magic)
    return magic


@magics_class
class CognitoMagics(Magics):
    """Sign in to AWS Cognito from IPython. Configure with ``c.CognitoMagics.<option>``."""

    default_username = Unicode(
        None,
        allow_none=True,
        help="Username %cognito_login uses when none is given (before NB_COGNITO_USERNAME).",
    ).tag(config=True)
    widget_by_default = Bool(
        False,
        help="Show the sign-in widget instead of text prompts when a password must be asked for.",
    ).tag(config=True)
    max_attempts = Int(
        3,
        help="How many times %cognito_login asks again for a wrong code or mismatched new password.",
    ).tag(config=True)
    clear_prompts = Bool(
        True,
        help="In Jupyter, clear the sign-in prompts (and any TOTP setup secret) once signed in.",
    ).tag(config=True)

    def pre_run_cell(self, *_: Any) -> None:
        """Before each cell: put the boto3 provider back if user code replaced the default session.

        Registered as this bound method, so unloading finds exactly this hook (as autoreload does).
        """
        from nb_cognito.kernel import existing_session

        injection = boto3_of(existing_session())
        if injection is not None:
            injection.ensure_installed()

    # -- %cognito_login ---------------------------------------------------------------------------

    @no_var_expand
    @magic_arguments.magic_arguments()
    @magic_arguments.argument(
        "username",
        nargs="?",
        default=None,
        metavar="USERNAME",
        help="Cognito username (default: c.CognitoMagics.default_username, "
        "then NB_COGNITO_USERNAME, then a prompt).",
    )
    @_setting_options
    @magic_arguments.argument(
        "--widget", action="store_true", help="Show the sign-in widget instead of text prompts."
    )
    @magic_arguments.argument(
        "--local",
        action="store_true",
        help="Start the offline Cognito emulator and sign in as its demo user.",
    )
    @magic_arguments.argument(
        "--hosted-ui",
        action="store_true",
        help="Sign in through the user pool's hosted UI (single sign-on; needs oauth_domain, redirect_uri).",
    )
    @magic_arguments.argument("--hub", action="store_true", help="Sign in with JupyterHub's sign-in.")
    @magic_arguments.argument(
        "--idp",
        metavar="NAME",
        help="Go straight to this identity provider of the pool (implies --hosted-ui).",
    )
    @line_magic
    def cognito_login(self, line: str = "") -> None:
        """Sign in to AWS Cognito; then boto3 in any cell uses the Cognito credentials.

        The password is never part of the line (the line is saved in the notebook and in
        IPython's history). It is read from NB_COGNITO_PASSWORD when set, else asked for
        with hidden input. Codes (MFA, TOTP) and a new password, when Cognito asks for
        them, are asked for the same way. Options on the line are applied to the kernel's
        session; the others come from IPython config, NB_COGNITO_* variables or an
        Amplify file.

        Examples
        --------
        ::

          %cognito_login alice
          %cognito_login alice --user-pool-id us-east-1_AbC123 --client-id 1example23456789
          %cognito_login --amplify-config amplify_outputs.json
          %cognito_login --widget
          %cognito_login --local          # offline demo: no AWS account needed
          %cognito_login --hosted-ui      # single sign-on through the hosted UI
          %cognito_login --idp CorpOkta   # straight to the company identity provider
          %cognito_login --hub            # on JupyterHub: the hub's Cognito sign-in, no password
        """
        args = parse_magic_line(self.cognito_login, line)
        session = kernel_session()
        demo_password = None
        if args.local:
            demo_password = login_flow.start_local(session, args)
        self._configure(session, args)
        if args.hosted_ui or args.idp:
            self._sign_in_with_redirect(session, args.idp)
            return
        if args.hub:
            print(hub_sign_in_line(session))
            return
        no_env_password = Env.NB_COGNITO_PASSWORD not in os.environ
        if args.widget or (self.widget_by_default and no_env_password and demo_password is None):
            self._show_widget(args.username or self.default_username)
            return
        username = args.username or self.default_username or os.environ.get(Env.NB_COGNITO_USERNAME)
        if signed_in_as(session, username):
            note = ""
            remembered = remembered_of(session)
            if args.remember and remembered is not None and remembered.describe():
                note = "; this session is now remembered"
            print(f"Already signed in as {session.get_current_user().username}{note}.")
            return
        if demo_password is None and no_env_password and login_flow.resume_remembered(session, username):
            print(summary_line(session, resumed=True))
            return
        if not username:
            username = self._prompter().input("Cognito username: ").strip()
            if not username:
                raise MagicUsageError("No username given. Run `%cognito_login USERNAME`.")
            if looks_like_credentials(username):
                raise MagicUsageError(NOT_A_USERNAME)
            if signed_in_as(session, username):
                print(f"Already signed in as {session.get_current_user().username}.")
                return
        self._sign_in(session, username, demo_password)

    def _configure(self, session: CognitoSession, args: argparse.Namespace) -> None:
        given = {setting.name: getattr(args, setting.name) for setting in MAGIC_SETTINGS}
        # None: an option not on the line; False: a flag (--remember) not on the line.
        line_settings = {
            name: value for name, value in given.items() if value is not None and value is not False
        }
        problem: MagicUsageError | None = None
        try:
            if line_settings:
                session.configure(**line_settings)
            if not args.widget:
                from nb_cognito.auth.session import sign_in_settings

                sign_in_settings(session)  # read afresh and checked, before anyone types anything
        except AuthError as error:
            problem = usage_error(error, hide=list(line_settings.values()))
        if problem is not None:  # raised outside the except block: no __context__ holding a value
            raise problem

    def _sign_in(self, session: CognitoSession, username: str, password: Secret | None) -> None:
        """Sign in with ``password`` (else NB_COGNITO_PASSWORD, else hidden input), answering challenges."""
        prompted = False
        if password is None and Env.NB_COGNITO_PASSWORD not in os.environ:
            try:
                needed = session.settings.needs_password
                if needed:
                    from nb_cognito.auth.session import check_pool

                    check_pool(session)  # a wrong pool id, region or endpoint: no password typed in vain
            except AuthError as error:
                raise usage_error(error, "Cannot sign in") from None
            if needed:
                password = self._prompter().getpass(f"Password for {username}: ")
                prompted = True
                if not password:
                    raise MagicUsageError("No password entered; nothing was sent. Run %cognito_login again.")
        failure: AuthError | None = None
        try:
            result = session.sign_in(username, password)  # None: the session reads NB_COGNITO_PASSWORD
            password = None
            asked = login_flow.answer_challenges(session, result, self._prompter(), self.max_attempts)
            prompted = prompted or asked
        except AuthError as error:
            failure = error
        finally:
            password = None  # the traceback's frame keeps no password
        if failure is not None:
            raise usage_error(failure, "Sign-in failed")
        if prompted and self.clear_prompts and in_jupyter(self.shell):
            from IPython.display import clear_output

            clear_output()
        print(summary_line(session))

    def _sign_in_with_redirect(self, session: CognitoSession, provider: str | None) -> None:
        """%cognito_login --hosted-ui: the browser signs in; the code comes back by loopback or paste."""
        try:
            session.sign_in_with_redirect(provider, prompt=self._prompter().getpass)
        except AuthError as error:
            raise usage_error(error, "Sign-in failed") from None
        if self.clear_prompts and in_jupyter(self.shell):  # the URL held this sign-in's state
            from IPython.display import clear_output

            clear_output()
        print(summary_line(session))

    def _show_widget(self, username: str | None) -> None:
        try:
            from nb_cognito.notebook.widget import SignInWidget
        except ImportError as error:
            raise MagicUsageError(
                f"The sign-in widget is not available ({error}). Install ipywidgets, or run "
                "%cognito_login without --widget."
            ) from None
        from IPython.display import display

        display(SignInWidget(username=username) if username else SignInWidget())

    def _prompter(self) -> login_flow.Prompter:
        """Text and hidden prompts in this shell."""
        return login_flow.Prompter(self.shell)

    # -- %cognito_logout --------------------------------------------------------------------------

    @magic_arguments.magic_arguments()
    @magic_arguments.argument(
        "--global",
        dest="global_sign_out",
        action="store_true",
        help="Also revoke the tokens everywhere (Cognito GlobalSignOut).",
    )
    @magic_arguments.argument(
        "--forget-all", action="store_true", help="Also forget every remembered session on this machine."
    )
    @magic_arguments.argument(
        "--forget-device",
        action="store_true",
        help="Also make Cognito forget this device (ForgetDevice): the next sign-in asks for MFA again.",
    )
    @line_magic
    def cognito_logout(self, line: str = "") -> None:
        """Sign out of AWS Cognito; boto3 stops using the Cognito credentials.

        Examples
        --------
        ::

          %cognito_logout
          %cognito_logout --global        # revoke the session on every device
          %cognito_logout --forget-all    # and forget remembered sessions
          %cognito_logout --forget-device # and have Cognito forget this device
        """
        args = parse_magic_line(self.cognito_logout, line)
        session = kernel_session()
        user = session.status().user
        forgot_device = forget_device_line(session) if args.forget_device else None
        result = session.sign_out(global_sign_out=args.global_sign_out)
        if user is None:
            message = "Nobody was signed in."
        elif args.global_sign_out and result.global_sign_out_error is not None:
            message = (
                f"Signed out {user.username} here; the global sign-out failed "
                f"({result.global_sign_out_error})."
            )
        elif args.global_sign_out:
            message = f"Signed out {user.username} everywhere."
        else:
            message = f"Signed out {user.username}."
        if forgot_device:
            message += " " + forgot_device
        if args.forget_all:
            message += " " + forget_all_line()
        print(message)

    # -- %cognito_session -------------------------------------------------------------------------

    @magic_arguments.magic_arguments()
    @magic_arguments.argument(
        "--refresh", action="store_true", help="Refresh the tokens and AWS credentials now."
    )
    @line_magic
    def cognito_session(self, line: str = "") -> SessionReport:
        """Show the Cognito session: user, expiries, identity, refresh state, boto3 injection.

        Nothing secret is shown: the access key appears as its last four characters.

        Examples
        --------
        ::

          %cognito_session
          %cognito_session --refresh
          report = %cognito_session
        """
        args = parse_magic_line(self.cognito_session, line)
        session = kernel_session()
        if args.refresh:
            if not session.is_signed_in:
                raise MagicUsageError(
                    "Nobody is signed in, so there is nothing to refresh. Run %cognito_login."
                )
            snapshot = session.fetch_auth_session(force_refresh=True)
            failed = snapshot.user_pool_tokens_result.error or snapshot.aws_credentials_result.error
            if failed is not None and session.status().credentials_expiration is not None:
                print(f"The refresh failed: {failed}")
        return SessionReport(
            session.status(),
            boto3=is_installed(),
            remembered=remembered.describe() if (remembered := remembered_of(session)) else None,
            device=describe_device(session),
            now=dt.datetime.fromtimestamp(session.clock.time(), dt.timezone.utc),
            no_credentials=no_credentials_reason(session.settings),
        )
