DROP TRIGGER ihr_user_erase_on_account_delete ON accounts.users;
DROP FUNCTION public.ihr_user_erase();
DROP TABLE public.ihr_user_channel;
DROP TABLE public.ihr_user_monitoredasn;
