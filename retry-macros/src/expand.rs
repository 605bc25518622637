//! Code generation. Assumes valid input (see `valid.rs`); names the runtime only through
//! `#krate::__private`, and every generated local is `Span::mixed_site()` so it can neither
//! see nor shadow the user's names.

use proc_macro2::{Delimiter, Group, Ident, Literal, Span, TokenStream};
use quote::{quote, quote_spanned, ToTokens};
use syn::spanned::Spanned;
use syn::visit::Visit;
use syn::visit_mut::VisitMut;
use syn::{FnArg, Item, Pat, PatIdent, ReturnType, Signature, Type};

use crate::ast::{Body, RetryFn};
use crate::attr::{self, Args, Value};
use crate::errors::Errors;
use crate::guards::{self, Locals};
use crate::tokens::{first_span, local, respan};
use crate::valid;

/// Input: the attribute's arguments and the item under it.
/// Output: the function with its body wrapped in a retry loop; or, on any error, the item
/// unchanged plus every error, so callers of the function see no follow-on errors.
pub(crate) fn retry(args: TokenStream, item: TokenStream) -> TokenStream {
    let func: RetryFn = match syn::parse2(item.clone()) {
        Ok(func) => func,
        Err(error) => return not_a_function(item, error),
    };
    let (args, mut errors) = attr::parse(args);
    valid::check(&args, &func, &mut errors);
    match errors.finish() {
        Ok(()) => generate(&args, func),
        Err(error) => with_error(func.into_token_stream(), error),
    }
}

fn with_error(mut tokens: TokenStream, error: syn::Error) -> TokenStream {
    tokens.extend(error.into_compile_error());
    tokens
}

/// The attribute is on something that is not a function: say what it is, at its keyword.
fn not_a_function(item: TokenStream, error: syn::Error) -> TokenStream {
    let found = match syn::parse2::<Item>(item.clone()) {
        Ok(Item::Struct(i)) => Some((i.struct_token.span, "a struct")),
        Ok(Item::Enum(i)) => Some((i.enum_token.span, "an enum")),
        Ok(Item::Union(i)) => Some((i.union_token.span, "a union")),
        Ok(Item::Const(i)) => Some((i.const_token.span, "a const")),
        Ok(Item::Static(i)) => Some((i.static_token.span, "a static")),
        Ok(Item::Impl(i)) => Some((i.impl_token.span, "an impl block; put it on a method inside")),
        Ok(Item::Trait(i)) => Some((i.trait_token.span, "a trait; put it on a method with a body")),
        Ok(Item::Mod(i)) => Some((i.mod_token.span, "a module")),
        Ok(Item::Type(i)) => Some((i.type_token.span, "a type alias")),
        Ok(Item::Use(i)) => Some((i.use_token.span, "a `use`")),
        Ok(Item::ForeignMod(i)) => Some((i.abi.extern_token.span, "an `extern` block")),
        Ok(Item::Macro(i)) => Some((i.mac.path.span(), "a macro invocation")),
        _ => None,
    };
    let mut errors = Errors::default();
    match found {
        Some((span, what)) => errors.at(span, format!("`#[retry]` goes on a `fn` or `async fn`, not on {what}")),
        None => errors.at(
            error.span(),
            format!("`#[retry]` goes on a `fn` or `async fn`, and this item could not be read as one: {error}"),
        ),
    }
    with_error(item, errors.finish().err().unwrap_or(error))
}

/// The pieces of the generated body that depend on the keys.
struct Parts {
    rt: TokenStream,
    policy: TokenStream,
}

fn generate(args: &Args, mut func: RetryFn) -> TokenStream {
    let krate = match args.get(attr::CRATE).map(|arg| &arg.value) {
        Some(Value::CratePath(path)) => path.to_token_stream(),
        _ => quote!(::steadfast),
    };
    let parts = Parts { rt: quote!(#krate::__private), policy: policy(args, &quote!(#krate::__private)) };
    let Body::Block { brace, inner, stmts } = std::mem::replace(
        &mut func.body,
        Body::Block { brace: Default::default(), inner: Vec::new(), stmts: TokenStream::new() },
    ) else {
        // valid.rs rejects a missing body; emit the item as it was.
        return func.into_token_stream();
    };
    let rebinds = rebind_owned_args(&mut func.sig);
    let mut body = Group::new(Delimiter::Brace, stmts);
    body.set_span(brace.span.join());
    let new_body = retry_loop(args, &parts, &func.sig, rebinds, body.into_token_stream());
    let RetryFn { attrs, vis, sig, .. } = func;
    quote! {
        #(#attrs)*
        #vis #sig {
            #(#inner)*
            #new_body
        }
    }
}

/// `Policy::new()` followed by a const setter for each key that was given; defaults live
/// in the runtime alone.
fn policy(args: &Args, rt: &TokenStream) -> TokenStream {
    let mut policy = quote!(#rt::Policy::new());
    for arg in &args.args {
        let setter = Ident::new(arg.key.name, Span::call_site());
        let value = match (&arg.value, arg.key.name) {
            (Value::Count(n), _) => Literal::u32_unsuffixed(u32::try_from(*n).unwrap_or(1)).into_token_stream(),
            (Value::Duration(d), name) if name != attr::TIMEOUT => {
                let (secs, nanos) = (d.as_secs(), d.subsec_nanos());
                quote!(::core::time::Duration::new(#secs, #nanos))
            }
            (Value::Number(f), _) => Literal::f64_suffixed(*f).into_token_stream(),
            (Value::Choice(c), attr::BACKOFF) => {
                let variant = Ident::new(
                    match *c {
                        "exp" => "Exponential",
                        "fixed" => "Fixed",
                        "linear" => "Linear",
                        "fibonacci" => "Fibonacci",
                        _ => "None",
                    },
                    Span::call_site(),
                );
                quote!(#rt::Backoff::#variant)
            }
            (Value::Choice(c), attr::JITTER) => {
                let variant = Ident::new(
                    match *c {
                        "full" => "Full",
                        "equal" => "Equal",
                        "decorrelated" => "Decorrelated",
                        _ => "None",
                    },
                    Span::call_site(),
                );
                quote!(#rt::Jitter::#variant)
            }
            _ => continue,
        };
        policy.extend(quote!(.#setter(#value)));
    }
    policy
}

/// Input: the body's tokens and the keys.
/// Output: the statements replacing the body: a `const` policy, then a loop that runs the
/// body afresh in each attempt (a non-`move` async block or closure, so `&mut` arguments
/// are re-borrowed), classifies the outcome, and sleeps before the next attempt.
fn retry_loop(
    args: &Args,
    parts: &Parts,
    sig: &Signature,
    rebinds: Vec<TokenStream>,
    body: TokenStream,
) -> TokenStream {
    let Parts { rt, policy } = parts;
    let is_async = sig.asyncness.is_some();
    let ret: Type = match &sig.output {
        ReturnType::Type(_, ty) => (**ty).clone(),
        ReturnType::Default => syn::parse_quote!(()),
    };
    let ret = &ret;
    let fn_name = sig.ident.to_string();
    let name = Literal::string(fn_name.strip_prefix("r#").unwrap_or(&fn_name));
    let [retrier, result, err, ok, delay, start, attempt, hint, limit, timed_out, sleep, ret_var, retry] = [
        "__retrier",
        "__result",
        "__err",
        "__ok",
        "__delay",
        "__start",
        "__attempt",
        "__hint",
        "__limit",
        "__timed_out",
        "__sleep",
        "__ret",
        "__retry",
    ]
    .map(local);
    let policy_name = Ident::new("__STEADFAST_POLICY", Span::call_site());
    let mut erased = ret.clone();
    EraseImplTrait.visit_type_mut(&mut erased);

    // Fake return edge: pins the attempt's output type before `?` and `return` in the body
    // are checked (tracing-attributes does the same).
    let attempt_body = quote! {
        #[allow(unreachable_code, clippy::diverging_sub_expression, clippy::needless_return, clippy::let_unit_value, clippy::unreachable, clippy::empty_loop)]
        if false {
            let #ret_var: #erased = loop {};
            return #ret_var;
        }
        #(#rebinds)*
        #body
    };

    let needs_clock = args.get(attr::DEADLINE).is_some() || args.get(attr::NOTIFY).is_some();
    // The clock is read once at the start, and only for the keys that need it; otherwise
    // no `Instant` is kept in the future at all.
    let (start_decl, start_ref) = if needs_clock {
        (quote!(let #start = ::core::option::Option::Some(#rt::now());), start.to_token_stream())
    } else {
        (quote!(), quote!(::core::option::Option::None))
    };
    let timeout = args.get(attr::TIMEOUT).and_then(|arg| match arg.value {
        Value::Duration(d) => Some((d, attr::arg_span(arg))),
        _ => None,
    });
    let run = if is_async {
        let block = quote!(async { #attempt_body });
        match timeout {
            Some((d, span)) => {
                let (secs, nanos) = (d.as_secs(), d.subsec_nanos());
                let elapsed = respan(quote!(#rt::timed_out::<#erased>), span);
                let elapsed = quote!(#elapsed(#limit));
                quote! {
                    let #limit = #rt::attempt_limit(&#policy_name, ::core::time::Duration::new(#secs, #nanos), #start_ref);
                    let (#result, #timed_out) = match #rt::timeout(#limit, #block).await {
                        ::core::result::Result::Ok(#result) => (#result, false),
                        ::core::result::Result::Err(_) => (#elapsed, true),
                    };
                }
            }
            None => quote!(let (#result, #timed_out) = (#block.await, false);),
        }
    } else {
        quote! {
            #[allow(clippy::redundant_closure_call)]
            let (#result, #timed_out) = ((|| { #attempt_body })(), false);
        }
    };

    // The one check that the function returns a `Result`, spanned at the return type; every
    // later step reads `__outcome` so a wrong return type is reported once.
    let outcome = local("__outcome");
    let ret_span = first_span(ret);
    let output_trait = respan(quote!(#rt::RetryOutput), ret_span);
    // The same hygienic local, located at the return type for the error's primary span.
    let result_at_ret = Ident::new("__result", Span::mixed_site().located_at(ret_span));
    // Naming the return type as the type argument puts rustc's error on the user's tokens.
    // All at one span, so rustc's two views of the failed bound merge into one error.
    let erased_at_ret = respan(erased.to_token_stream(), ret_span);
    let outcome_call = quote_spanned!(ret_span=> <#erased_at_ret as #output_trait>::as_result(&#result_at_ret));
    let err_cond = error_condition(args, rt, &err);
    let ok_cond = match args.expr(attr::IF_OK) {
        Some(hook) => {
            let check = respan(quote!(#rt::check), first_span(hook));
            quote!(#check(#ok, #hook))
        }
        None => quote!({ let _ = #ok; false }),
    };
    let hint_expr = match args.expr(attr::RETRY_AFTER) {
        Some(hook) => {
            let hint = respan(quote!(#rt::hint), first_span(hook));
            quote!(match #outcome {
                ::core::result::Result::Err(#err) => #hint(#err, #hook),
                ::core::result::Result::Ok(_) => ::core::option::Option::None,
            })
        }
        None => quote!(::core::option::Option::None),
    };
    let notify = args.expr(attr::NOTIFY).map(|hook| {
        let info = local("__attempt_info");
        let notify_fn = respan(quote!(#rt::notify), first_span(hook));
        let call = quote!(#notify_fn(&#info, #hook));
        quote! {
            let #info = #rt::Attempt::new(
                #attempt,
                #delay,
                #outcome.err(),
                match #start { ::core::option::Option::Some(#start) => #rt::elapsed(#start), ::core::option::Option::None => ::core::time::Duration::ZERO },
            );
            #call;
        }
    });
    let level = args.choice(attr::LOG).unwrap_or("warn");
    let (events, retrying_event, gave_up_event) = if level == "off" {
        (quote!(), quote!(), quote!())
    } else {
        let level = Ident::new(&level.to_uppercase(), Span::call_site());
        (
            quote!(#rt::events!(#level, #name);),
            quote!(__steadfast_retrying(#attempt, #policy_name.max_attempts(), #delay, #rt::describe_error!(#outcome.err()));),
            quote!(__steadfast_gave_up(#attempt, #rt::describe_error!(#outcome.err()));),
        )
    };

    let (retrier_new, sleep_stmt) = if is_async {
        (
            quote!(#rt::AsyncRetrier::new()),
            quote! {
                if let ::core::option::Option::Some(#sleep) = #retrier.sleep(#delay) {
                    #sleep.await;
                }
            },
        )
    } else {
        (quote!(#rt::BlockingRetrier::new()), quote!(#retrier.sleep(#delay);))
    };

    let guards = guards::guards(
        args,
        &Locals { rt, outcome: &outcome, retry: &retry, ret_at_ret: &erased_at_ret, ret_span, is_async },
    );
    let before = guards.before;
    let guard_after = guards.after.map(|after| quote!(let #retry: bool = #after;));

    quote! {
        const #policy_name: #rt::Policy = #policy;
        #events
        let mut #retrier = #retrier_new;
        #start_decl
        loop {
            let #delay = {
                #before
                #run
                let #outcome = #outcome_call;
                let #retry: bool = #timed_out || match #outcome {
                    // Parenthesised: a condition starting with a block would end the arm.
                    ::core::result::Result::Err(#err) => (#err_cond),
                    ::core::result::Result::Ok(#ok) => (#ok_cond),
                };
                #guard_after
                if !#retry {
                    return #result;
                }
                let #attempt = #retrier.attempt();
                let #hint = #hint_expr;
                match #retrier.next_delay(&#policy_name, #hint, #start_ref) {
                    ::core::option::Option::Some(#delay) => {
                        #notify
                        #retrying_event
                        #delay
                    }
                    ::core::option::Option::None => {
                        #gave_up_event
                        return #result;
                    }
                }
            };
            #sleep_stmt
        }
    }
}

/// Whether an error is retried: not `unless`, and `on` (any of the types in the error's
/// `source()` chain), and `when`.
fn error_condition(args: &Args, rt: &TokenStream, err: &Ident) -> TokenStream {
    let mut conditions = Vec::new();
    let chain = local("__chain");
    let matches_any = |name: &str| -> Option<TokenStream> {
        let arg = args.get(name)?;
        let types = args.types(name);
        let view = quote_spanned!(attr::arg_span(arg)=> #err.__steadfast_dyn_error());
        let tests = types.iter().map(|ty| {
            let caused_by = respan(quote!(#rt::caused_by), ty.span());
            quote_spanned!(ty.span()=> #caused_by::<#ty>(#chain))
        });
        Some(quote!({
            #[allow(unused_imports)]
            use #rt::ErrorChain as _;
            let #chain = #view;
            #(#tests)||*
        }))
    };
    if let Some(unless) = matches_any(attr::UNLESS) {
        conditions.push(quote!(!#unless));
    }
    if let Some(on) = matches_any(attr::ON) {
        conditions.push(on);
    }
    if let Some(hook) = args.expr(attr::WHEN) {
        let check = respan(quote!(#rt::check), first_span(hook));
        conditions.push(quote!(#check(#err, #hook)));
    }
    if conditions.is_empty() {
        quote!({ let _ = #err; true })
    } else {
        quote!(#(#conditions)&&*)
    }
}

/// Input: the signature. Output: one `let` per owned argument that gives each attempt its
/// own clone (spanned on the argument's type, so a missing `Clone` is reported there).
/// References need none: a non-`move` block re-borrows them. `mut` moves from the
/// signature to the clone, and destructuring patterns move into the clone too.
fn rebind_owned_args(sig: &mut Signature) -> Vec<TokenStream> {
    let mut rebinds = Vec::new();
    for (i, input) in sig.inputs.iter_mut().enumerate() {
        let FnArg::Typed(arg) = input else { continue };
        if matches!(*arg.ty, Type::Reference(_)) {
            continue;
        }
        let ty = &*arg.ty;
        let annotation = if contains_impl_trait(ty) { quote!() } else { quote!(: #ty) };
        let span = ty.span();
        match &mut *arg.pat {
            Pat::Wild(_) => {}
            Pat::Ident(p) if p.by_ref.is_some() => {}
            Pat::Ident(p) if p.subpat.is_none() => {
                let mutability = p.mutability.take();
                let ident = &p.ident;
                rebinds.push(
                    quote_spanned!(span=> let #mutability #ident #annotation = ::core::clone::Clone::clone(&#ident);),
                );
            }
            pat => {
                let renamed = Ident::new(&format!("__arg{i}"), Span::mixed_site());
                let original = std::mem::replace(
                    pat,
                    Pat::Ident(PatIdent {
                        attrs: Vec::new(),
                        by_ref: None,
                        mutability: None,
                        ident: renamed.clone(),
                        subpat: None,
                    }),
                );
                rebinds
                    .push(quote_spanned!(span=> let #original #annotation = ::core::clone::Clone::clone(&#renamed);));
            }
        }
    }
    rebinds
}

fn contains_impl_trait(ty: &Type) -> bool {
    struct Finder(bool);
    impl<'ast> Visit<'ast> for Finder {
        fn visit_type_impl_trait(&mut self, _: &'ast syn::TypeImplTrait) {
            self.0 = true;
        }
    }
    let mut finder = Finder(false);
    finder.visit_type(ty);
    finder.0
}

/// `impl Trait` cannot annotate a `let`; `_` lets the body's value decide.
struct EraseImplTrait;

impl VisitMut for EraseImplTrait {
    fn visit_type_mut(&mut self, ty: &mut Type) {
        if let Type::ImplTrait(impl_trait) = ty {
            *ty = Type::Infer(syn::TypeInfer { underscore_token: syn::Token![_](impl_trait.impl_token.span) });
        } else {
            syn::visit_mut::visit_type_mut(self, ty);
        }
    }
}
